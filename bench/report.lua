-- Loaded after a scenario's script: prints the figures as one JSON line.
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "bytes": %d, "errors": %d, "non2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
