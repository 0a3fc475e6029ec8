-- records: immutable records and float math (twin of records.fsrs). A
-- record is a table with the same four fields, built anew at every step;
-- lists are cons cells {h, t} as in list.lua, so the stepped list comes out
-- reversed exactly as the F# one does.
local dt = 0.01

local function step(p)
  local vy = p.VY - 9.81 * dt
  local x = p.X + p.VX * dt
  local y = p.Y + vy * dt
  local vx
  if x < 0.0 or x > 100.0 then vx = -p.VX else vx = p.VX end
  local vy2
  if y < 0.0 then vy2 = -vy * 0.9 else vy2 = vy end
  local y2
  if y < 0.0 then y2 = 0.0 else y2 = y end
  return { X = x, Y = y2, VX = vx, VY = vy2 }
end

local function stepAll(ps, acc)
  if ps == nil then return acc
  else
    local p, rest = ps[1], ps[2]
    return stepAll(rest, {step(p), acc})
  end
end

local function make(i, acc)
  if i == 0 then return acc
  else
    local p = { X = (i % 100) + 0.0, Y = (i % 50) + 10.0, VX = (i % 7) - 3.0, VY = 0.0 }
    return make(i - 1, {p, acc})
  end
end

local function run(n, ps)
  if n == 0 then return ps else return run(n - 1, stepAll(ps, nil)) end
end

local function total(ps, acc)
  if ps == nil then return acc
  else
    local p, rest = ps[1], ps[2]
    return total(rest, acc + p.X + p.Y)
  end
end

local final = run(500, make(1000, nil))
print(string.format("%.6f", total(final, 0.0)))
