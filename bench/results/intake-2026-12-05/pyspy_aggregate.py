import sys, collections, re
inc = collections.Counter(); self_ = collections.Counter(); total = 0
for line in open(sys.argv[1]):
    line = line.rstrip()
    if not line: continue
    stack, n = line.rsplit(" ", 1); n = int(n)
    frames = stack.split(";")
    # drop process/thread header frames
    frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
    total += n
    seen = set()
    for f in frames:
        key = re.sub(r":\d+\)$", ")", f)  # function (file) without line
        if key not in seen:
            inc[key] += n; seen.add(key)
    if frames:
        self_[re.sub(r":\d+\)$", ")", frames[-1])] += n
pat = sys.argv[2] if len(sys.argv) > 2 else ""
print("total samples", total)
print("--- inclusive")
for k, v in inc.most_common(400):
    if pat in k:
        print(f"{100*v/total:5.1f}%  {k[:160]}")
print("--- self")
for k, v in self_.most_common(30):
    print(f"{100*v/total:5.1f}%  {k[:160]}")
