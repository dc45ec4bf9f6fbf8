// The SDK's ActivitySource and Meter are process-wide: tests that run side by side would see each other's telemetry.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
