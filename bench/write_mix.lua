-- The write mix: a session with a segment, then two participants and two agenda items
-- for it, over and over. Each wrk thread remembers the last 16 sessions it created (from
-- the Location of each 201) and adds participants and agenda items to them in turn, so
-- that concurrent requests rarely change the same session. Loaded after
-- `councils`, `persons` and `topics` (lists of ids) are defined; BENCH_TOKEN is a key with
-- the write scope.
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or ""),
}
local step, sessions = 0, {}

request = function()
  step = step + 1
  local kind = step % 5
  local session = sessions[step % 16 + 1] or sessions[1]
  if session == nil or kind == 0 then
    return wrk.format("POST", "/api/v1/sessions", headers, string.format(
      '{"council_id":"%s","start_date":"2031-03-%02d","guest_countries":["FR","RU"],'
      .. '"segments":[{"kind":"plenary"}]}',
      councils[step % #councils + 1], step % 28 + 1))
  elseif kind <= 2 then
    return wrk.format("POST", session .. "/participants", headers, string.format(
      '{"person_id":"%s","delegation":"%s"}',
      persons[step % #persons + 1], kind == 1 and "FR" or "RU"))
  end
  return wrk.format("POST", session .. "/agenda", headers,
    string.format('{"topic_id":"%s"}', topics[step % #topics + 1]))
end

response = function(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if status == 201 and location and location:match("^/api/v1/sessions/[^/]+$") then
    sessions[step % 16 + 1] = location
  end
end
