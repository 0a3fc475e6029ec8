-- tailloop: a tail-recursive accumulator loop of 10,000,000 iterations
-- (twin of tailloop.fsrs). `return loop(...)` is a proper tail call in Lua.
local function loop(i, acc)
  if i == 0 then return acc else return loop(i - 1, acc + i) end
end

local result = loop(10000000, 0)
print(string.format("%d", result))
