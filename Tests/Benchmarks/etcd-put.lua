-- wrk script: etcd v3 PUT of a 256-byte value through its HTTP gateway, a fresh key each time.
local value = string.rep("v", 256)
local function b64(data)
   local chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
   return ((data:gsub('.', function(x)
      local r, b = '', x:byte()
      for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
      return r
   end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
      if #x < 6 then return '' end
      local c = 0
      for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
      return chars:sub(c + 1, c + 1)
   end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
local encodedValue = b64(value)
local counter = 0
local thread_id = 0

setup = function(thread)
   thread:set("id", thread_id)
   thread_id = thread_id + 1
end

request = function()
   counter = counter + 1
   local body = '{"key":"' .. b64(string.format("k-%d-%d", id or 0, counter)) .. '","value":"' .. encodedValue .. '"}'
   return wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
   io.write(string.format("p50_ms=%.3f p99_ms=%.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
