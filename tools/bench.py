"""End-to-end benchmark on full frames (thin entry; see pipeline/bench.py).

Example (what `make bench` runs):
  python tools/bench.py --set low=data/demo/test:data/demo/test_labels.txt \
      --model configs/rec/svtr_tiny_cpu.yml output/demo/rec/best.pth \
      --train-log output/demo/rec/train.log --out bench/results
"""
from pipeline.bench import main

if __name__ == "__main__":
    main()
