// The SDK's ActivitySource and Meter are process-wide: tests run one at a time so that none sees another's telemetry.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
