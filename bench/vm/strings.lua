-- strings: string building (twin of strings.fsrs). A cons cell h :: t is
-- the 2-element array table {h, t}; the empty list is nil.
local function build(i, acc)
  if i == 0 then return acc else return build(i - 1, {tostring(i), acc}) end
end

local function join(fwd, xs, acc)
  if xs == nil then
    if acc == nil then return ""
    else
      local s, rest = acc[1], acc[2]
      if rest == nil then return s
      else
        local nfwd
        if fwd then nfwd = false else nfwd = true end
        return join(nfwd, acc, nil)
      end
    end
  else
    local a, rest = xs[1], xs[2]
    if rest == nil then return join(fwd, nil, {a, acc})
    else
      local b, rest2 = rest[1], rest[2]
      local s
      if fwd then s = a .. b else s = b .. a end
      return join(fwd, rest2, {s, acc})
    end
  end
end

local pieces = build(200000, nil)
local result = join(true, pieces, nil)
print(string.format("%s", result))
