-- Read a range of one aggregate's stream, with the records its entries point at.
--
-- An aggregate entry written with the log holds only its event's position ("p"): the record is
-- read from the log entry "<position>-0". Entries without the log (snapshots), and entries
-- written before this layout, hold the topic and state themselves ("t", "s").
--
-- KEYS[1] the aggregate stream
-- KEYS[2] the global stream
-- KEYS[3] hash: originator id -> highest trimmed version
-- ARGV[1] lowest entry id, ARGV[2] highest entry id ("-" and "+" for open ends)
-- ARGV[3] "1" for descending order
-- ARGV[4] at most this many entries, "" for no limit
-- ARGV[5] the originator id, ARGV[6] "1" to read its trimmed version too
-- Returns {trimmed version or "", {entry id, topic, state, entry id, topic, state, ...}}, read
-- atomically, so the trim mark and the entries agree.

local trimmed = ""
if ARGV[6] == "1" then
    trimmed = redis.call("HGET", KEYS[3], ARGV[5]) or ""
end

local command = {"XRANGE", KEYS[1], ARGV[1], ARGV[2]}
if ARGV[3] == "1" then
    command = {"XREVRANGE", KEYS[1], ARGV[2], ARGV[1]}
end
if ARGV[4] ~= "" then
    command[5], command[6] = "COUNT", ARGV[4]
end

local function field(fields, name)
    for j = 1, #fields, 2 do
        if fields[j] == name then
            return fields[j + 1]
        end
    end
    return nil
end

local records = {}
for _, entry in ipairs(redis.call(unpack(command))) do
    local fields = entry[2]
    local position = field(fields, "p")
    if position then
        local logged = redis.call("XRANGE", KEYS[2], position .. "-0", position .. "-0")
        if #logged == 0 then
            return redis.error_reply("LHDANGLING " .. KEYS[1] .. " entry " .. entry[1]
                .. " points at position " .. position .. ", which the log does not hold")
        end
        fields = logged[1][2]
    end
    local topic, state = field(fields, "t"), field(fields, "s")
    if not (topic and state) then
        return redis.error_reply("LHDANGLING " .. KEYS[1] .. " entry " .. entry[1]
            .. " holds no record: an entry this store did not write")
    end
    records[#records + 1] = entry[1]
    records[#records + 1] = topic
    records[#records + 1] = state
end
return {trimmed, records}
