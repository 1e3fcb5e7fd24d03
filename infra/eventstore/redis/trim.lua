-- Remove global-stream entries below a position, and their per-aggregate copies, in chunks.
--
-- Last-version bookkeeping (the versions hash) is left alone, so a trimmed version can never
-- be recorded again. Each aggregate's highest trimmed version is remembered so that reads
-- which would need trimmed events fail instead of silently returning a partial stream.
--
-- KEYS[1] global stream
-- KEYS[2] string: lowest position still held (the trim floor)
-- KEYS[3] hash: originator id -> highest trimmed version
-- ARGV[1] key prefix of the per-aggregate streams
-- ARGV[2] trim entries with notification id below this position
-- ARGV[3] at most this many entries in this call
-- Returns {removed, more}: more is 1 when entries below the position remain.

local agg_prefix = ARGV[1]
local position = tonumber(ARGV[2])
local chunk = tonumber(ARGV[3])

local last_wanted = string.format("%d", position - 1)
local entries = redis.call("XRANGE", KEYS[1], "-", last_wanted, "COUNT", chunk)
local removed = #entries
local floor = tonumber(redis.call("GET", KEYS[2]) or "1")
if removed == 0 then
    if position > floor then
        redis.call("SET", KEYS[2], string.format("%d", position))
    end
    return {0, 0}
end

for _, entry in ipairs(entries) do
    local fields = entry[2]
    local id, version
    for j = 1, #fields, 2 do
        if fields[j] == "o" then
            id = fields[j + 1]
        elseif fields[j] == "v" then
            version = fields[j + 1]
        end
    end
    local key = agg_prefix .. id
    redis.call("XDEL", key, version .. "-1")
    if redis.call("XLEN", key) == 0 then
        redis.call("DEL", key)
    end
    redis.call("HSET", KEYS[3], id, version)
end

local last_id = entries[removed][1]
local last_position = tonumber(string.sub(last_id, 1, string.find(last_id, "-") - 1))
redis.call("XTRIM", KEYS[1], "MINID", string.format("%d-0", last_position + 1))

local more = 0
if removed == chunk then
    more = 1
end
local new_floor = last_position + 1
if more == 0 then
    new_floor = math.max(new_floor, position)
end
if new_floor > floor then
    redis.call("SET", KEYS[2], string.format("%d", new_floor))
end
return {removed, more}
