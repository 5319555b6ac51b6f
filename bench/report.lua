-- Loaded after a scenario's script: prints the figures as one JSON line.
function done(summary, latency, requests)
  if summary.requests == 0 then
    io.write('{"requests": 0, "seconds": 1, "bytes": 0, "errors": 0, "non2xx": 0, "p50_ms": 0, "p99_ms": 0, "max_ms": 0}\n')
    return
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "bytes": %d, "errors": %d, "non2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
