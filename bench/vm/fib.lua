-- fib: naive doubly recursive Fibonacci (twin of fib.fsrs).
local function fib(n)
  if n < 2 then return n else return fib(n - 1) + fib(n - 2) end
end

local result = fib(32)
print(string.format("%d", result))
