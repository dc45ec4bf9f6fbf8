using Microsoft.Extensions.Logging;

namespace LlmApm.Otel;

/// <summary>
/// The price table in force and where it comes from: the shipped catalogue, the price file of
/// <see cref="LlmApmOptions.PriceFile"/> and <see cref="LlmApmOptions.Prices"/>. When watched, a change of the file
/// (written in place, replaced, or swapped through a symbolic link) rebuilds the table after a short quiet period; a
/// file that cannot be read keeps the last good table and is reported once per change, in the log and in
/// <see cref="Status"/>. Nothing here throws on a call's path: calls read <see cref="Current"/>.
/// </summary>
internal sealed partial class LlmPriceCatalog : IDisposable
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    private readonly IEnumerable<KeyValuePair<string, LlmModelPrice>> overrides;
    private readonly Lock gate = new();
    private volatile LlmPriceTable current;
    private volatile LlmPriceFileStatus? status;
    private FileSystemWatcher? watcher;
    private Timer? debounce;
    private ILogger? logger;
    private bool disposed;

    /// <summary>Initializes a new instance of the <see cref="LlmPriceCatalog"/> class and reads the price file once.</summary>
    /// <param name="overrides">The configured prices (<see cref="LlmApmOptions.Prices"/>).</param>
    /// <param name="priceFile">The price file's path, or <c>null</c>.</param>
    /// <exception cref="ArgumentException">A configured price is invalid (the options validation reports it first).</exception>
    public LlmPriceCatalog(IEnumerable<KeyValuePair<string, LlmModelPrice>> overrides, string? priceFile)
    {
        // The configured prices are copied: the table is rebuilt from them at each reload.
        this.overrides = overrides.Select(p => KeyValuePair.Create(p.Key, p.Value)).ToList();
        this.current = new LlmPriceTable(this.overrides);
        if (!string.IsNullOrWhiteSpace(priceFile))
        {
            this.PriceFile = Path.GetFullPath(priceFile.Trim());
            this.Reload();
        }
    }

    /// <summary>Raised after each attempt to read the price file, with its outcome (<see cref="Status"/>).</summary>
    public event Action<LlmPriceFileStatus>? Reloaded;

    /// <summary>Gets the table in force.</summary>
    public LlmPriceTable Current => this.current;

    /// <summary>Gets the full path of the price file, or <c>null</c> without one.</summary>
    public string? PriceFile { get; }

    /// <summary>Gets the outcome of the last reading of the price file, or <c>null</c> without one.</summary>
    public LlmPriceFileStatus? Status => this.status;

    /// <summary>Watches the price file for changes, and logs the outcome of its first reading when it failed.</summary>
    /// <param name="logger">Where reload failures and successes are logged, if anywhere.</param>
    public void Watch(ILogger? logger)
    {
        if (this.PriceFile is not { } path)
        {
            return;
        }

        lock (this.gate)
        {
            if (this.disposed || this.watcher is not null)
            {
                return;
            }

            // The first reading went to the EventSource only: the log gets its outcome now.
            this.logger = logger;
            if (logger is not null && this.status is { } first)
            {
                if (first.Error is { } error)
                {
                    LogPriceFileFailed(logger, path, error);
                }
                else
                {
                    LogPriceFileLoaded(logger, path, first.Entries);
                }
            }

            try
            {
                // The directory is watched, not the file: editors and Kubernetes replace files (rename, symlink swap).
                var directory = Path.GetDirectoryName(path)!;
                this.debounce = new Timer(_ => this.Reload(), state: null, Timeout.Infinite, Timeout.Infinite);
                this.watcher = new FileSystemWatcher(directory)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime | NotifyFilters.DirectoryName,
                    IncludeSubdirectories = false,
                };
                this.watcher.Changed += this.OnChanged;
                this.watcher.Created += this.OnChanged;
                this.watcher.Deleted += this.OnChanged;
                this.watcher.Renamed += this.OnChanged;
                this.watcher.Error += (_, _) => this.Schedule();
                this.watcher.EnableRaisingEvents = true;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                // Without a watcher the prices of the first reading stay; the status says why.
                this.status = new LlmPriceFileStatus(path, this.status?.LoadedAt, DateTimeOffset.UtcNow, $"The price file's directory cannot be watched, so changes are not reloaded: {ex.Message}", this.status?.Entries ?? 0);
                this.LogFailed(path, this.status.Error!);
            }
        }
    }

    /// <summary>Reads the price file now and, when it is good, puts its table in force. Never throws.</summary>
    /// <returns>The outcome.</returns>
    public LlmPriceFileStatus Reload()
    {
        var path = this.PriceFile!;
        LlmPriceFileStatus outcome;
        lock (this.gate)
        {
            var previous = this.status;
            try
            {
                var entries = LlmPriceFile.Read(File.ReadAllBytes(path), LlmPriceEntry.File, out _);
                this.current = new LlmPriceTable(this.overrides, fileEntries: entries);
                outcome = new LlmPriceFileStatus(path, DateTimeOffset.UtcNow, null, null, entries.Count);
                if (previous?.Error is not null || previous is null)
                {
                    this.LogLoaded(path, entries.Count);
                }
            }
            catch (Exception ex)
            {
                var error = ex is FileNotFoundException or DirectoryNotFoundException ? "The price file does not exist." : ex.Message;
                outcome = new LlmPriceFileStatus(path, previous?.LoadedAt, DateTimeOffset.UtcNow, error, previous?.Entries ?? 0);

                // Once per change: the same error again (an editor's several writes) is not logged again.
                if (previous?.Error != error)
                {
                    this.LogFailed(path, error);
                }
            }

            this.status = outcome;
        }

        try
        {
            this.Reloaded?.Invoke(outcome);
        }
        catch (Exception ex)
        {
            LlmApmEventSource.Log.CallbackFailed(nameof(this.Reloaded), ex);
        }

        return outcome;
    }

    /// <summary>Stops watching.</summary>
    public void Dispose()
    {
        lock (this.gate)
        {
            this.disposed = true;
            this.watcher?.Dispose();
            this.debounce?.Dispose();
        }
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => this.Schedule();

    private void Schedule()
    {
        // Every event restarts the quiet period: a save is several events, and the file is read once after them.
        lock (this.gate)
        {
            if (!this.disposed)
            {
                this.debounce?.Change(Quiet, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void LogFailed(string path, string error)
    {
        LlmApmEventSource.Log.PriceFileFailed(path, error);
        if (this.logger is { } log)
        {
            LogPriceFileFailed(log, path, error);
        }
    }

    private void LogLoaded(string path, int entries)
    {
        LlmApmEventSource.Log.PriceFileLoaded(path, entries);
        if (this.logger is { } log)
        {
            LogPriceFileLoaded(log, path, entries);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "LLM-APM could not load the price file {PriceFile}: {Error} Costs keep the last good prices; fix the file and save it again.")]
    private static partial void LogPriceFileFailed(ILogger logger, string priceFile, string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "LLM-APM loaded {Entries} prices from the price file {PriceFile}.")]
    private static partial void LogPriceFileLoaded(ILogger logger, string priceFile, int entries);
}

/// <summary>The outcome of the last reading of the price file.</summary>
/// <param name="Path">The file's full path.</param>
/// <param name="LoadedAt">When the prices in force were read from it, or <c>null</c> if never.</param>
/// <param name="FailedAt">When the last reading failed, or <c>null</c> when it succeeded.</param>
/// <param name="Error">Why the last reading failed, or <c>null</c>.</param>
/// <param name="Entries">How many entries of the file are in force.</param>
internal sealed record LlmPriceFileStatus(string Path, DateTimeOffset? LoadedAt, DateTimeOffset? FailedAt, string? Error, int Entries);
