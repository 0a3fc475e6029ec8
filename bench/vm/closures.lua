-- closures: closure creation and indirect calls (twin of closures.fsrs).
local function compose(f, g) return function(x) return g(f(x)) end end
local function adder(n) return function(x) return x + n end end
local function doubler(x) return x * 2 end

local function loop(i, acc)
  if i == 0 then return acc
  else
    local h = compose(adder(i), doubler)
    return loop(i - 1, acc + h(i))
  end
end

local result = loop(1000000, 0)
print(string.format("%d", result))
