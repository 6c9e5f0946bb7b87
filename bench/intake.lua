-- wrk script for the intake benchmark: POSTs the reports listed in the data file that
-- bench/intake.py writes (DATA_FILE below is put in by it), each with its own body.
-- A photo report is multipart: its text fields, then the JPEG read once at start.
local data = dofile(os.getenv("INTAKE_DATA"))
local photo = nil
if data.photo_path then
  local f = assert(io.open(data.photo_path, "rb"))
  photo = f:read("*a")
  f:close()
end
local boundary = "civicgridbenchboundary"
-- the Host header, given by bench/intake.py: this file runs before wrk knows its host, and
-- civicgrid in production refuses a request for a host it does not serve
local host = os.getenv("INTAKE_HOST")
local requests = {}
for i, r in ipairs(data.reports) do
  if r.photo and photo then
    local body = r.multipart
      .. "--" .. boundary .. "\r\n"
      .. 'Content-Disposition: form-data; name="media"; filename="photo.jpg"\r\n'
      .. "Content-Type: image/jpeg\r\n\r\n" .. photo .. "\r\n--" .. boundary .. "--\r\n"
    requests[i] = wrk.format("POST", data.path,
      {["Host"] = host, ["Content-Type"] = "multipart/form-data; boundary=" .. boundary}, body)
  else
    requests[i] = wrk.format("POST", data.path,
      {["Host"] = host, ["Content-Type"] = "application/x-www-form-urlencoded"}, r.form)
  end
end
local n = 0

function setup(thread)
  thread:set("offset", math.random(#requests))
end

function request()
  n = n + 1
  return requests[((offset or 0) + n) % #requests + 1]
end

function done(summary, latency, _)
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "connect_errors": %d, '
    .. '"read_errors": %d, "timeouts": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max))
end
