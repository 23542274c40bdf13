"""Off-the-shelf OCR peers (RapidOCR, Tesseract) on the same frames (thin entry; see
pipeline/peers.py). Install the peers first with `make setup-peers`.

Example (what `make bench-peers` runs):
  OMP_NUM_THREADS=1 python tools/bench_peers.py --frames data/demo/test \
      --labels data/demo/test_labels.txt --crops output/demo/loc/test --out bench/peers
"""
from pipeline.peers import main

if __name__ == "__main__":
    main()
