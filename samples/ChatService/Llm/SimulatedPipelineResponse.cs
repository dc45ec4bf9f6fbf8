using System.ClientModel.Primitives;
using System.Diagnostics.CodeAnalysis;

namespace ChatService.Llm;

/// <summary>An HTTP response of the simulated provider, for the <c>ClientResultException</c>s it throws.</summary>
internal sealed class SimulatedPipelineResponse : PipelineResponse
{
    private readonly BinaryData content;
    private readonly SimulatedResponseHeaders headers;
    private Stream? contentStream;

    public SimulatedPipelineResponse(int status, string reasonPhrase, string jsonBody, IReadOnlyDictionary<string, string>? headers = null)
    {
        this.Status = status;
        this.ReasonPhrase = reasonPhrase;
        this.content = BinaryData.FromString(jsonBody);
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "application/json" };
        if (headers is not null)
        {
            foreach (var (key, value) in headers)
            {
                all[key] = value;
            }
        }

        this.headers = new SimulatedResponseHeaders(all);
    }

    public override int Status { get; }

    public override string ReasonPhrase { get; }

    public override Stream? ContentStream
    {
        get => this.contentStream ??= this.content.ToStream();
        set => this.contentStream = value;
    }

    public override BinaryData Content => this.content;

    protected override PipelineResponseHeaders HeadersCore => this.headers;

    public override BinaryData BufferContent(CancellationToken cancellationToken = default) => this.content;

    public override ValueTask<BinaryData> BufferContentAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(this.content);

    public override void Dispose() => this.contentStream?.Dispose();

    private sealed class SimulatedResponseHeaders(Dictionary<string, string> values) : PipelineResponseHeaders
    {
        public override IEnumerator<KeyValuePair<string, string>> GetEnumerator() => values.GetEnumerator();

        public override bool TryGetValue(string name, [NotNullWhen(true)] out string? value) => values.TryGetValue(name, out value);

        public override bool TryGetValues(string name, [NotNullWhen(true)] out IEnumerable<string>? value)
        {
            if (values.TryGetValue(name, out var single))
            {
                value = [single];
                return true;
            }

            value = null;
            return false;
        }
    }
}
