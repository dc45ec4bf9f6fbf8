// The SDK's ActivitySource and Meter are process-wide: one host at a time sees their measurements.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
