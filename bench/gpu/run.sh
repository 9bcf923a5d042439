#!/usr/bin/env bash
# WGSL matmul vs cuBLAS on the GPU machine. Run from the repository root through the device tool with
# carry [".gpu"] (made once per session here by `bash ../shared/gpu/prepare.sh`):
#   bash bench/gpu/run.sh
# 1. installs the Vulkan loader from .gpu/*.deb and unpacks Deno (../shared/gpu/README.md, "Each run");
# 2. bench/gpu/matmul.ts: naive, spilling and every generated candidate, TFLOP/s per size (markdown + JSON);
# 3. PyTorch cuBLAS f32 (TF32 off) at the same sizes: median of repeats, cuda.synchronize around each;
# 4. a ratio table ours/cuBLAS. Outputs are kept under $OUT (the device tool returns them) or .tmp/gpu-out.
# Env: MESHWORK_GPU_SIZES (default 1024,2048,4096,8192), MESHWORK_GPU_BUDGET_S (WGSL part, default 420).
set -euo pipefail
cd "$(dirname "$0")/../.."

export MESHWORK_GPU_SIZES="${MESHWORK_GPU_SIZES:-1024,2048,4096,8192}"
out="${OUT:-.tmp/gpu-out}"
mkdir -p "$out"

if [ ! -f .gpu/deno.xz ]; then
  echo "Cannot run the GPU bench as .gpu/deno.xz is missing: run 'bash ../shared/gpu/prepare.sh' here and carry .gpu" >&2
  exit 2
fi
for f in .gpu/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json DENO_NO_UPDATE_CHECK=1
xz -dc .gpu/deno.xz > /tmp/deno && chmod +x /tmp/deno
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true

echo "## WGSL (Deno WebGPU)"
/tmp/deno run -A --unstable-webgpu bench/gpu/matmul.ts | tee "$out/wgsl.txt"

echo
echo "## cuBLAS f32 (PyTorch, TF32 off)"
python3 - <<'PY' | tee "$out/cublas.txt"
import json, os, statistics, time
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
sizes = [int(s) for s in os.environ["MESHWORK_GPU_SIZES"].split(",")]
TARGET_S, REPS = 0.2, 5
results = {}
for n in sizes:
    a = torch.rand(n, n, device="cuda") * 2 - 1
    b = torch.rand(n, n, device="cuda") * 2 - 1
    c = torch.empty(n, n, device="cuda")
    for _ in range(3):
        torch.mm(a, b, out=c)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    torch.mm(a, b, out=c)
    torch.cuda.synchronize()
    iters = max(1, min(1000, int(TARGET_S / max(time.perf_counter() - t0, 1e-6))))
    per = []
    for _ in range(REPS):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            torch.mm(a, b, out=c)
        torch.cuda.synchronize()
        per.append((time.perf_counter() - t0) / iters)
    s = statistics.median(per)
    # Sampled check against f64: 16 rows, error relative to sum |a*b| (the scale of f32 rounding).
    rows = torch.arange(0, n, max(1, n // 16), device="cuda")[:16]
    ref = a[rows].double() @ b.double()
    scale = a[rows].double().abs() @ b.double().abs()
    err = ((c[rows].double() - ref).abs() / scale.clamp_min(1e-30)).max().item()
    results[n] = {"tflops": 2 * n**3 / s / 1e12, "ms": [x * 1e3 for x in per], "iters": iters, "maxErr": err}
    print(f"n={n}: {results[n]['tflops']:.2f} TFLOP/s (median of {REPS} x{iters}, err {err:.1e})")
print("JSON " + json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "results": results}))
PY

echo
echo "## Ours / cuBLAS"
python3 - "$out/wgsl.txt" "$out/cublas.txt" <<'PY' | tee "$out/ratio.md"
import json, sys

def doc(path):
    for line in open(path):
        if line.startswith("JSON "):
            return json.loads(line[5:])
    raise SystemExit(f"Cannot build the ratio table as {path} has no JSON line")

wgsl, cublas = doc(sys.argv[1]), doc(sys.argv[2])
sizes = wgsl["sizes"]

def rate(name, n):
    r = wgsl["results"].get(name, {}).get(str(n))
    return r["gflops"] / 1000 if r and "gflops" in r and r["ok"] else None

def ratio(x, base):
    return "-" if x is None or not base else f"{x / base:.3f}"

print("| n | cuBLAS f32 TFLOP/s | ours best | TFLOP/s | ours/cuBLAS | naive/cuBLAS | spilling/cuBLAS |")
print("|---:|---:|---|---:|---:|---:|---:|")
for n in sizes:
    cb = cublas["results"].get(str(n), {}).get("tflops")
    best = wgsl["bestOurs"].get(str(n))
    ours = best["tflops"] if best else None
    cells = [str(n), f"{cb:.2f}" if cb else "-", best["name"][5:] if best else "-", f"{ours:.2f}" if ours else "-",
             ratio(ours, cb), ratio(rate("naive (1 output/thread)", n), cb), ratio(rate("array<f32,64> accumulators (spills)", n), cb)]
    print("| " + " | ".join(cells) + " |")
PY
