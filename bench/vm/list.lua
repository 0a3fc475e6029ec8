-- list: immutable cons lists (twin of list.fsrs). A cons cell h :: t is the
-- 2-element array table {h, t}; the empty list is nil.
local function build(i, acc)
  if i == 0 then return acc else return build(i - 1, {i, acc}) end
end

local function revAcc(xs, acc)
  if xs == nil then return acc
  else
    local h, t = xs[1], xs[2]
    return revAcc(t, {h, acc})
  end
end

local function mapRev(f, xs, acc)
  if xs == nil then return acc
  else
    local h, t = xs[1], xs[2]
    return mapRev(f, t, {f(h), acc})
  end
end

local function map(f, xs) return revAcc(mapRev(f, xs, nil), nil) end

local function fold(f, acc, xs)
  if xs == nil then return acc
  else
    local h, t = xs[1], xs[2]
    return fold(f, f(acc, h), t)
  end
end

local xs = build(1000000, nil)
local ys = map(function(x) return x + 1 end, xs)
local total = fold(function(acc, x) return acc + x end, 0, ys)
print(string.format("%d", total))
