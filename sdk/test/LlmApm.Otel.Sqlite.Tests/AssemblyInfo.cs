// The SDK's Meter is process-wide: tests that run side by side would see each other's measurements.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
