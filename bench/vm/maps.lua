-- maps: twin of maps.fsrs. Lua has no persistent map; its table (a
-- mutable hash) is what a Lua program would use for the same job, so the
-- twin compares the two languages' natural keyed containers rather than
-- the same data structure. The loops are the same recursive functions.
local n = 100000

local function insert(i, m)
  if i == n then return m end
  m[(i * 7919) % n] = i
  return insert(i + 1, m)
end

local function update(i, m)
  if i == n then return m end
  m[i] = m[i] + 1
  return update(i + 1, m)
end

local function sum(i, m, acc)
  if i == n then return acc end
  return sum(i + 1, m, acc + m[i])
end

local m = update(0, insert(0, {}))
local count = 0
for _ in pairs(m) do count = count + 1 end
print(string.format("%d %d", count, sum(0, m, 0)))
