# The README's two set-up commands: `make setup && make demo` and `make setup && make test`.
# Every run is driven by a config under configs/; these targets only chain the tools and
# pass paths. Each step writes a file the next one depends on, so an interrupted
# `make demo` resumes where it stopped.
VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
# Fonts of the synthetic watermark (Latin sans faces incl. the Arial-metric Liberation
# Sans, whose I/l nearly coincide at this size, and a CJK face for the 抖音号 prefix).
FONT_PACKAGES := fonts-liberation fonts-dejavu-core fonts-freefont-ttf fonts-wqy-microhei
# ... and the crop renderer's catalogue (synth/fonts.py FONT_FAMILIES: the recogniser's
# train faces and the held-out faces of the unseen-domain test), ~250 MB installed
FONT_PACKAGES += fonts-roboto-unhinted fonts-open-sans fonts-croscore fonts-noto-core \
                 fonts-inter fonts-urw-base35 fonts-lato fonts-crosextra-carlito \
                 fonts-cantarell fonts-wqy-zenhei fonts-arphic-uming fonts-arphic-ukai \
                 fonts-noto-cjk
# ... and its wide training faces (release 9's stage: geometric, rounded and light sans, ~50 MB)
FONT_PACKAGES += fonts-league-spartan fonts-manrope fonts-quicksand fonts-comfortaa \
                 fonts-dosis fonts-oxygen fonts-adf-gillius fonts-sil-andika fonts-tuffy \
                 fonts-karla fonts-jura fonts-mplus

# --- the demo: generate -> localise -> train -> read (override any of these) ----------
DEMO_DATA    ?= data/demo
DEMO_OUT     ?= output/demo
DEMO_VIDEOS  ?= 1200
DEMO_EPOCHS  ?= 7
DEMO_SEED    ?= 0
LOC_CONFIG   ?= configs/loc/ddt.yml
REC_CONFIG   ?= configs/rec/svtr_tiny_cpu.yml
REC_WEIGHTS  ?= $(DEMO_OUT)/rec/best.pth
# output.id_line: the CPU recogniser reads 16-row crops of the ID line alone
LOC_OPTS      = data.root=$(DEMO_DATA) output.dir=$(DEMO_OUT)/loc output.id_line=true \
                model.checkpoint=$(DEMO_OUT)/loc/model/strip_ddt.pt \
                psol.checkpoint=$(DEMO_OUT)/loc/model/psol.pt
REC_OPTS      = Train.dataset.data_dir=$(DEMO_OUT)/loc/train \
                Eval.dataset.data_dir=$(DEMO_OUT)/loc/val/low \
                Global.output_dir=$(DEMO_OUT)/rec Global.epoch_num=$(DEMO_EPOCHS)

.PHONY: bench-limits bench-glyphs bench-glyphs-corrupted bench-flat train-1h train-release train-release-stage1 train-release-stage2 train-release-stage3 train-release-stage4 train-release-stage5 train-release-stage6 train-release-stage7 train-release-stage8 train-release-stage9 train-release-stage10 bench-release bench-robust bench-wild bench-loc-wild-fit bench-encoders demo-train train-descriptor bench-copy
.PHONY: setup fonts test demo synth localize train-svtr train-svtr-aug read-demo show-loc \
        bench bench-rec bench-loc bench-aug bench-e2e bench-aug-ablation bench-ssl bench-onnx bench-peers setup-peers setup-scale bench-scale aug-gallery \
        pseudo-label train-pseudo ensemble export-onnx pretrain-dig train-semi clean-demo

setup: fonts $(VENV)/.installed

fonts:
	@missing=$$(for p in $(FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian font packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: requirements.txt setup.py
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# exact pin: an unpinned torch makes pip pull a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	# --no-deps: its declared dependencies add ~430 MB that training never uses;
	# requirements.txt lists what it really needs at run time
	$(PIP) install -q --no-deps openocr-python==0.1.5
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest

# `make demo`: the released models (models/) read the demo's generated test frames end to
# end: nothing is trained. `make demo-train`: the whole recipe the short way (generate,
# train the localiser, crop, train a small SVTR, read), ~19 min on 2 cores.
demo: $(DEMO_OUT)/read_release/score.json
	@echo "demo done: predictions of the released models in $(DEMO_OUT)/read_release/"

# re-read when the released models or the reading code change (a pull of a new release or
# of a new localiser cut: the demo must show what this checkout reads)
READ_CODE := $(wildcard common/*.py localization/*.py ppocr_ext/*.py pipeline/*.py)
$(DEMO_OUT)/read_release/score.json: $(DEMO_DATA)/boxes.json $(wildcard models/svtr_tiny_synth/model*) $(wildcard models/loc_ddt/*.pt) $(READ_CODE)
	$(PY) tools/read_ids.py --frames $(DEMO_DATA)/test --labels $(DEMO_DATA)/test_labels.txt \
	  --out $(DEMO_OUT)/read_release --threads 2

demo-train: $(DEMO_OUT)/read/score.json show-loc
	@echo "demo-train done: predictions in $(DEMO_OUT)/read/, pictures in $(DEMO_OUT)/*.png"

synth: $(DEMO_DATA)/boxes.json
$(DEMO_DATA)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(DEMO_DATA) --videos $(DEMO_VIDEOS) --seed $(DEMO_SEED) \
	  --workers 2 --overwrite

localize: $(DEMO_OUT)/loc/summary.json
$(DEMO_OUT)/loc/summary.json: $(DEMO_DATA)/boxes.json $(LOC_CONFIG)
	$(PY) tools/localize.py -c $(LOC_CONFIG) -o $(LOC_OPTS)

train-svtr: $(DEMO_OUT)/rec/best.pth
$(DEMO_OUT)/rec/best.pth: $(DEMO_OUT)/loc/summary.json
	$(PY) tools/train.py -c $(REC_CONFIG) -o $(REC_OPTS) \
	  $$( [ -f $(DEMO_OUT)/rec/latest.pth ] && echo --resume )

# Stage 2 of the CPU recipe (not part of the demo): fine-tune the demo's model with the
# full augmentation ladder, which it can afford once CTC has left its blank stall.
AUG_EPOCHS ?= 4
train-svtr-aug: $(DEMO_OUT)/rec_aug/best.pth
$(DEMO_OUT)/rec_aug/best.pth: $(DEMO_OUT)/rec/best.pth
	$(PY) tools/train.py -c configs/rec/svtr_tiny_cpu_aug.yml -o Train.dataset.data_dir=$(DEMO_OUT)/loc/train \
	  Eval.dataset.data_dir=$(DEMO_OUT)/loc/val/low Global.output_dir=$(DEMO_OUT)/rec_aug \
	  Global.epoch_num=$(AUG_EPOCHS) Global.pretrained_model=$(DEMO_OUT)/rec/best.pth \
	  $$( [ -f $(DEMO_OUT)/rec_aug/latest.pth ] && echo --resume )

read-demo: $(DEMO_OUT)/read/score.json
$(DEMO_OUT)/read/score.json: $(DEMO_OUT)/rec/best.pth
	$(PY) tools/read_ids.py --frames $(DEMO_DATA)/test --labels $(DEMO_DATA)/test_labels.txt \
	  --loc-config $(LOC_CONFIG) --loc-opt $(LOC_OPTS) \
	  --model $(REC_CONFIG) $(DEMO_OUT)/rec/best.pth --out $(DEMO_OUT)/read --threads 2

show-loc: $(DEMO_OUT)/loc/summary.json
	$(PY) tools/show_loc.py -c $(LOC_CONFIG) -o $(LOC_OPTS) --split test --count 24 \
	  --out $(DEMO_OUT)/loc_show.png

clean-demo:
	rm -rf $(DEMO_DATA) $(DEMO_OUT)

# --- the released recogniser (models/svtr_tiny_synth, issue #16) ---------------------
# Stage 1 trains from scratch on rendered ID-line crops (configs/rec/svtr_tiny_synth.yml),
# evaluated on crops of the held-out fonts and backgrounds; stage 2 fine-tunes on the
# localiser's crops of the demo's frames mixed with the stream; stage 3 continues stage 2
# with the robustness catalogue's corruptions on half the crops; stage 4 gives stage 3 a second
# cosine cycle on the same mixture (+2.3 points of validation); stage 5 fine-tunes stage 4 on
# the crops of 5,000 more generated videos beside the demo's (3/4 of the samples real);
# stage 6 continues stage 5 with 5,000 videos more (+1.5 points of validation); stage 7 adds
# the crops of 2,000 wild-generator videos; stage 8 fine-tunes on the crops cut with the
# ID-line cut's trimming (a fresh run cuts every stage's crops that way); stage 9 adds the
# stream's wide faces; stage 10 the crops of every generated training frame (the demo's, the
# extra and the wild videos) with 30% of the samples lightened; then the release files.
# Every stage resumes from its latest.pth; `.done` marks a finished stage (best.pth
# appears at the first evaluation, long before a run ends).
RELEASE      ?= models/svtr_tiny_synth
REL_STAGE1   ?= output/rec/svtr_tiny_synth
REL_STAGE2   ?= output/rec/svtr_tiny_synth_ft
REL_STAGE3   ?= output/rec/svtr_tiny_synth_robust
REL_STAGE4   ?= output/rec/svtr_tiny_synth_long
REL_STAGE5   ?= output/rec/svtr_tiny_synth_more_frames
REL_STAGE6   ?= output/rec/svtr_tiny_synth_10k_videos
REL_STAGE7   ?= output/rec/svtr_tiny_synth_wild_frames
REL_STAGE8   ?= output/rec/svtr_tiny_synth_trimmed
REL_STAGE9   ?= output/rec/svtr_tiny_synth_wide_faces
REL_STAGE10  ?= output/rec/svtr_tiny_synth_all_frames
comma        := ,
EVAL_CROPS   ?= data/crops/heldout_eval
RELEASE_ONNX ?= $(RELEASE)/model.onnx
UNSEEN       ?= data/unseen
WILD         ?= data/wild
resume_if    = $$( [ -f $(1)/latest.pth ] && echo --resume )

$(EVAL_CROPS)/data.mdb: | fonts $(VENV)/.installed
	$(PY) tools/render_crops.py --out $(EVAL_CROPS) --split heldout --count 1000 --seed 7

# A fine-tune stage: $(1) config, $(2) its output, $(3) the stage it starts from; on the
# localiser's crops ($(4), a YAML list of folders; default the demo's frames), validated on
# the demo's low-resolution validation crops.
define finetune_stage
	$(PY) tools/train.py -c $(1) -o Global.output_dir=$(2) \
	  Global.pretrained_model=$(3)/best.pth \
	  "Train.dataset.real_data_dir=$(or $(4),[$(DEMO_OUT)/loc/train])" \
	  Eval.dataset.data_dir=$(DEMO_OUT)/loc/val/low $(call resume_if,$(2))
	touch $(2)/.done
endef

train-release-stage1: $(REL_STAGE1)/.done
$(REL_STAGE1)/.done: $(EVAL_CROPS)/data.mdb configs/rec/svtr_tiny_synth.yml
	$(PY) tools/train.py -c configs/rec/svtr_tiny_synth.yml -o Global.output_dir=$(REL_STAGE1) \
	  Eval.dataset.data_dir=$(EVAL_CROPS) $(call resume_if,$(REL_STAGE1))
	touch $@

train-release-stage2: $(REL_STAGE2)/.done
$(REL_STAGE2)/.done: $(REL_STAGE1)/.done $(DEMO_OUT)/loc/summary.json configs/rec/svtr_tiny_synth_ft.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_ft.yml,$(REL_STAGE2),$(REL_STAGE1))

train-release-stage3: $(REL_STAGE3)/.done
$(REL_STAGE3)/.done: $(REL_STAGE2)/.done configs/rec/svtr_tiny_synth_robust.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_robust.yml,$(REL_STAGE3),$(REL_STAGE2))

train-release-stage4: $(REL_STAGE4)/.done
$(REL_STAGE4)/.done: $(REL_STAGE3)/.done configs/rec/svtr_tiny_synth_long.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_long.yml,$(REL_STAGE4),$(REL_STAGE3))

# The extra frames of stages 5 and 6: 5,000 more generated videos each (train frames only,
# seeds 200 and 201), cut by the demo's localiser (~5 min to generate, ~10 to cut on 2 cores)
EXTRA_DATA  ?= data/extra_train
EXTRA_LOC   ?= output/extra_train/loc
EXTRA2_DATA ?= data/extra_train2
EXTRA2_LOC  ?= output/extra_train2/loc
# ... and of the fresh-videos experiment (configs/rec/svtr_tiny_synth_fresh_videos.yml):
# 5,000 videos no stage of the release saw (seed 202)
EXTRA3_DATA ?= data/extra_train3
EXTRA3_LOC  ?= output/extra_train3/loc
# ... and of stage 7: frames of the wild generator (their rule is with the wild benchmark's)
WILD_TRAIN     ?= data/wild_train
WILD_TRAIN_LOC ?= output/wild_train/loc
# $(1) frames folder, $(2) generator seed
define extra_frames
$(1)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(1) --videos 5000 --test-videos 0 --seed $(2) \
	  --workers 2 --overwrite
endef
$(eval $(call extra_frames,$(EXTRA_DATA),200))
$(eval $(call extra_frames,$(EXTRA2_DATA),201))
$(eval $(call extra_frames,$(EXTRA3_DATA),202))
# The localiser's crops of extra train frames ($(1) frames folder, $(2) localiser output),
# cut by the released localiser as the reader cuts test frames; no validation split
define cut_frames
$(2)/summary.json: $(1)/boxes.json models/loc_ddt/strip_ddt.pt
	$(PY) tools/localize.py -c $(LOC_CONFIG) -o data.root=$(1) output.dir=$(2) \
	  output.id_line=true model.checkpoint=models/loc_ddt/strip_ddt.pt output.val_fraction=0
endef
$(eval $(call cut_frames,$(EXTRA_DATA),$(EXTRA_LOC)))
$(eval $(call cut_frames,$(EXTRA2_DATA),$(EXTRA2_LOC)))
$(eval $(call cut_frames,$(EXTRA3_DATA),$(EXTRA3_LOC)))
$(eval $(call cut_frames,$(WILD_TRAIN),$(WILD_TRAIN_LOC)))

train-release-stage5: $(REL_STAGE5)/.done
$(REL_STAGE5)/.done: $(REL_STAGE4)/.done $(EXTRA_LOC)/summary.json configs/rec/svtr_tiny_synth_more_frames.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_more_frames.yml,$(REL_STAGE5),$(REL_STAGE4),[$(DEMO_OUT)/loc/train$(comma) $(EXTRA_LOC)/train])

train-release-stage6: $(REL_STAGE6)/.done
$(REL_STAGE6)/.done: $(REL_STAGE5)/.done $(EXTRA_LOC)/summary.json $(EXTRA2_LOC)/summary.json configs/rec/svtr_tiny_synth_10k_videos.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_10k_videos.yml,$(REL_STAGE6),$(REL_STAGE5),[$(DEMO_OUT)/loc/train$(comma) $(EXTRA_LOC)/train$(comma) $(EXTRA2_LOC)/train])

# Stage 7: the crops of 2,000 videos of the wild generator (the 48 training faces, photo and
# texture scenes, frames 144-1080 px) beside the demo's: unseen +1.9/+3.7, wild +4.7 points
train-release-stage7: $(REL_STAGE7)/.done
$(REL_STAGE7)/.done: $(REL_STAGE6)/.done $(WILD_TRAIN_LOC)/summary.json configs/rec/svtr_tiny_synth_wild_frames.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_wild_frames.yml,$(REL_STAGE7),$(REL_STAGE6),[$(DEMO_OUT)/loc/train$(comma) $(WILD_TRAIN_LOC)/train])

# Stage 8: the same crops cut the way the reader now cuts them (the ID-line cut trims the
# box to the line's text): +0.4 low, +1.2 train resolution, +2.6/+1.1 unseen, +0.5 wild
train-release-stage8: $(REL_STAGE8)/.done
$(REL_STAGE8)/.done: $(REL_STAGE7)/.done $(WILD_TRAIN_LOC)/summary.json configs/rec/svtr_tiny_synth_trimmed.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_trimmed.yml,$(REL_STAGE8),$(REL_STAGE7),[$(DEMO_OUT)/loc/train$(comma) $(WILD_TRAIN_LOC)/train])

# Stage 9: the crop stream's wide training faces (geometric, rounded, light sans; 92 Latin
# faces instead of 48), half the samples from the stream: unseen +1.6 / +3.0, wild +2.7,
# the demo's look -0.5 (low) / -1.1 (train resolution)
train-release-stage9: $(REL_STAGE9)/.done
$(REL_STAGE9)/.done: $(REL_STAGE8)/.done $(WILD_TRAIN_LOC)/summary.json configs/rec/svtr_tiny_synth_wide_faces.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_wide_faces.yml,$(REL_STAGE9),$(REL_STAGE8),[$(DEMO_OUT)/loc/train$(comma) $(WILD_TRAIN_LOC)/train])

# Stage 10: the same stream half, the real half now the crops of every generated training
# frame (the demo's, the 10,000 extra videos of stages 5-6, the wild ones), all trimmed
train-release-stage10: $(REL_STAGE10)/.done
$(REL_STAGE10)/.done: $(REL_STAGE9)/.done $(EXTRA_LOC)/summary.json $(EXTRA2_LOC)/summary.json $(WILD_TRAIN_LOC)/summary.json configs/rec/svtr_tiny_synth_all_frames.yml
	$(call finetune_stage,configs/rec/svtr_tiny_synth_all_frames.yml,$(REL_STAGE10),$(REL_STAGE9),[$(DEMO_OUT)/loc/train$(comma) $(EXTRA_LOC)/train$(comma) $(EXTRA2_LOC)/train$(comma) $(WILD_TRAIN_LOC)/train])

train-release: $(REL_STAGE10)/.done
	$(PY) tools/release_model.py -c configs/rec/svtr_tiny_synth_all_frames.yml \
	  --weights $(REL_STAGE10)/best.pth --out $(RELEASE) --check-crops $(DEMO_OUT)/loc/val/low

# Issue #16's one-hour recipe: SVTR-Tiny from scratch in one run on the same crops
# (configs/rec/svtr_tiny_1h.yml), then the demo's low-res test frames read end to end
# with it (bench/recipe_1h.md says what it reached and in how many CPU-minutes)
RECIPE_1H ?= output/rec/svtr_tiny_1h_aligned_500
train-1h: $(RECIPE_1H)/read/score.json
$(RECIPE_1H)/.done: $(DEMO_OUT)/loc/summary.json $(WILD_TRAIN_LOC)/summary.json configs/rec/svtr_tiny_1h.yml
	$(PY) tools/train.py -c configs/rec/svtr_tiny_1h.yml -o Global.output_dir=$(RECIPE_1H) \
	  $(call resume_if,$(RECIPE_1H))
	touch $@
$(RECIPE_1H)/read/score.json: $(RECIPE_1H)/.done
	$(PY) tools/read_ids.py --frames $(DEMO_DATA)/test --labels $(DEMO_DATA)/test_labels.txt \
	  --model configs/rec/svtr_tiny_1h.yml $(RECIPE_1H)/best.pth --out $(RECIPE_1H)/read --threads 2

# The unseen-domain frames: only the font families and scene bases the recogniser never
# trains on (synth_frames --domain heldout); train/ at full resolution, test/ at 1/1.7.
$(UNSEEN)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(UNSEEN) --domain heldout --videos 200 --test-videos 100 \
	  --seed 105 --workers 2 --overwrite

# --- benchmarks: each writes bench/*.md + .json with the command that produced it -----
bench: bench-loc bench-rec bench-aug bench-e2e bench-release bench-limits bench-glyphs bench-glyphs-corrupted bench-flat bench-robust bench-wild bench-copy

# Extra generated test sets: other seeds and videos than the demo's. bench_high: full
# train resolution (--test-scale 1); bench_video: one constant ID per video, like real
# watermarks, for the per-video consensus.
BENCH_HIGH  ?= data/bench_high
BENCH_VIDEO ?= data/bench_video
$(BENCH_HIGH)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(BENCH_HIGH) --videos 150 --test-videos 150 \
	  --test-scale 1 --seed 101 --workers 2 --overwrite
$(BENCH_VIDEO)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(BENCH_VIDEO) --videos 150 --test-videos 150 \
	  --id-mode video --seed 102 --workers 2 --overwrite

# The localisation's dev set: its thresholds and weights were chosen on these frames
# (and on bench_video), never on the demo's test frames. Test frames only, seed 103.
BENCH_DEV   ?= data/dev_loc
$(BENCH_DEV)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(BENCH_DEV) --videos 250 --test-videos 250 \
	  --seed 103 --workers 2 --overwrite

# A second held-out set for the localiser, twice the demo's test frames (seed 104): no
# parameter was chosen on it, and the demo's 1,547 test frames come from 240 videos, so
# one hard background there moves the hit-rate by several frames at once.
BENCH_HELDOUT ?= data/heldout_loc
$(BENCH_HELDOUT)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(BENCH_HELDOUT) --videos 500 --test-videos 500 \
	  --seed 104 --workers 2 --overwrite

# End to end on full frames at both resolutions (tools/bench.py -> bench/results.*)
bench-e2e: $(REC_WEIGHTS) $(BENCH_HIGH)/boxes.json
	$(PY) tools/bench.py --set low=$(DEMO_DATA)/test:$(DEMO_DATA)/test_labels.txt \
	  --set high=$(BENCH_HIGH)/test:$(BENCH_HIGH)/test_labels.txt \
	  --loc-config $(LOC_CONFIG) --loc-opt $(LOC_OPTS) --model $(REC_CONFIG) $(REC_WEIGHTS) \
	  --train-log $(dir $(REC_WEIGHTS))train.log --out bench/results --threads 2 \
	  --peers bench/peers.json

# Issue #4's table: configs/rec/ablation/*.yml, same budget, low-res test crops
bench-aug-ablation: $(DEMO_OUT)/loc/summary.json
	OMP_NUM_THREADS=1 $(PY) tools/bench_aug_ablation.py --train $(DEMO_OUT)/loc/train \
	  --val $(DEMO_OUT)/loc/val/low --test $(DEMO_OUT)/loc/test --out-dir $(DEMO_OUT)/ablation

bench-rec: $(VENV)/.installed
	$(PY) tools/bench_rec.py

# The demo's test frames (the benchmark), then the two dev sets the localiser's
# parameters were chosen on (configs/loc/ddt.yml cites both).
bench-loc: $(DEMO_DATA)/boxes.json $(BENCH_DEV)/boxes.json $(BENCH_VIDEO)/boxes.json $(BENCH_HELDOUT)/boxes.json
	$(PY) tools/bench_loc.py -c $(LOC_CONFIG) -o $(LOC_OPTS)
	$(PY) tools/bench_loc.py -c $(LOC_CONFIG) -o $(LOC_OPTS) data.root=$(BENCH_DEV) --out bench/loc_dev
	$(PY) tools/bench_loc.py -c $(LOC_CONFIG) -o $(LOC_OPTS) data.root=$(BENCH_VIDEO) --out bench/loc_dev_video
	$(PY) tools/bench_loc.py -c $(LOC_CONFIG) -o $(LOC_OPTS) data.root=$(BENCH_HELDOUT) --out bench/loc_heldout

bench-aug: $(VENV)/.installed
	$(PY) tools/bench_aug.py

PEERS_LIMIT ?= 300
# Off-the-shelf OCR peers for comparison (not needed by the toolkit). --no-deps:
# rapidocr-onnxruntime declares opencv-python, whose cv2 would overwrite the project's
# opencv-python-headless; its other needs are already in requirements.txt.
setup-peers: $(VENV)/.installed
	@tesseract --list-langs 2>/dev/null | grep -qx eng || { \
	  echo "installing tesseract-ocr (Debian)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng; }
	$(PIP) install -q --no-deps -r requirements-peers.txt

bench-peers: setup-peers $(DEMO_DATA)/boxes.json
	OMP_NUM_THREADS=1 $(PY) tools/bench_peers.py --frames $(DEMO_DATA)/test \
	  --labels $(DEMO_DATA)/test_labels.txt --limit $(PEERS_LIMIT) --out bench/peers \
	  $$( [ -f $(DEMO_OUT)/loc/test/data.mdb ] && echo --crops $(DEMO_OUT)/loc/test )

# Optional: Ray Data for reading frames by the million (tools/read_ids_ray.py, issue #20)
setup-scale: $(VENV)/.installed
	$(PIP) install -q -r requirements-scale.txt

bench-scale: setup-scale $(DEMO_DATA)/boxes.json
	$(PY) tools/bench_scale.py --frames $(DEMO_DATA)/test --cores 2 --out bench/scale

aug-gallery: $(VENV)/.installed
	$(PY) tools/aug_gallery.py --out bench/aug_gallery.png --n 6

# --- beyond one model: pseudo-labels, ensembles, ONNX, self-/semi-supervised ----------
pseudo-label: $(REC_WEIGHTS)
	$(PY) tools/pseudo_label.py --model $(REC_CONFIG) $(REC_WEIGHTS) --crops $(DEMO_OUT)/loc/test \
	  --out $(DEMO_OUT)/pseudo --val $(DEMO_OUT)/loc/val/low --merge-train $(DEMO_OUT)/loc/train \
	  --length 8 15

train-pseudo: pseudo-label
	$(PY) tools/train.py -c configs/rec/svtr_tiny_cpu_pseudo.yml \
	  -o Train.dataset.data_dir=$(DEMO_OUT)/pseudo/train_plus_pseudo \
	  Eval.dataset.data_dir=$(DEMO_OUT)/loc/val/low Global.output_dir=$(DEMO_OUT)/rec_pseudo

export-onnx: $(REC_WEIGHTS)
	$(PY) tools/export_onnx.py -c $(REC_CONFIG) --weights $(REC_WEIGHTS) \
	  --out $(dir $(REC_WEIGHTS))model.onnx --check-crops $(DEMO_OUT)/loc/val/low

bench-onnx: export-onnx
	$(PY) tools/bench_onnx.py -c $(REC_CONFIG) --weights $(REC_WEIGHTS) \
	  --onnx $(dir $(REC_WEIGHTS))model.onnx --crops $(DEMO_OUT)/loc/val/low

# Issue #22: which unlabeled signal pays at a label budget and a CPU budget per arm
# (process CPU minutes): random weights, DiG, the synthetic-crop pre-training (the encoder
# bench's SVTR-Tiny arm: 90 CPU-minutes of rendered crops, no real frame) and DiG continued
# from it, each with CTC alone or with EMA-teacher consistency on the unlabeled test crops.
# ~3.5 CPU-hours with these defaults; it resumes (finished runs are kept in SSL_WORK, and
# commands that split the plan add up to one report).
SSL_BUDGETS       ?= 1000 10000
SSL_MINUTES       ?= 6
SSL_PRETRAIN      ?= 12
SSL_SEEDS         ?= 0 1
SSL_SEED_ARMS     ?= synth synth+dig synth+semi synth+dig+semi
SSL_SYNTH         ?= output/rec/encoders/svtr_tiny_synth
SSL_WORK          ?= output/bench_ssl_v2
bench-ssl: $(DEMO_OUT)/loc/summary.json $(SSL_SYNTH)/.done
	$(PY) tools/bench_ssl.py --train $(DEMO_OUT)/loc/train --test $(DEMO_OUT)/loc/test \
	  --budgets $(SSL_BUDGETS) --seeds $(SSL_SEEDS) --seed-arms $(SSL_SEED_ARMS) \
	  --minutes $(SSL_MINUTES) --pretrain-minutes $(SSL_PRETRAIN) \
	  --synth-weights $(SSL_SYNTH)/best.pth --threads 2 --work $(SSL_WORK) --out bench/ssl.md

pretrain-dig: $(VENV)/.installed
	$(PY) tools/pretrain_ssl.py -c configs/ssl/dig_tiny.yml

train-semi: $(VENV)/.installed
	$(PY) tools/train_semi.py -c configs/rec/svtr_tiny_cpu_semi.yml

# The released models on the demo's test frames, a train-resolution set and the
# unseen-domain frames at both resolutions (bench/release.md), and the per-video
# consensus on constant-ID videos (bench/release_consensus/score.json).
RELEASED_LOC = --loc-opt model.checkpoint=models/loc_ddt/strip_ddt.pt output.id_line=true
LOW_SET      = --set low=$(DEMO_DATA)/test:$(DEMO_DATA)/test_labels.txt
WILD_SET     = --set wild=$(WILD)/test:$(WILD)/test_labels.txt
RELEASE_SETS = $(LOW_SET) --set high=$(BENCH_HIGH)/test:$(BENCH_HIGH)/test_labels.txt \
	       --set unseen_low=$(UNSEEN)/test:$(UNSEEN)/test_labels.txt \
	       --set unseen_high=$(UNSEEN)/train:$(UNSEEN)/train_labels.txt
bench-release: $(DEMO_DATA)/boxes.json $(BENCH_HIGH)/boxes.json $(UNSEEN)/boxes.json $(BENCH_VIDEO)/boxes.json
	$(PY) tools/bench.py $(RELEASE_SETS) \
	  --loc-config $(LOC_CONFIG) $(RELEASED_LOC) \
	  --train-log $(REL_STAGE10)/train.log --out bench/release --threads 2 --passes 2 --peers bench/peers.json
	$(PY) tools/read_ids.py --frames $(BENCH_VIDEO)/test --labels $(BENCH_VIDEO)/test_labels.txt \
	  --group-by video --out bench/release_consensus --threads 2

# Issue #16: what limits low-resolution reading: the demo's located validation marks read at
# train resolution, shrunk 1/1.7, shrunk + JPEG 95..35, and through the test frames' whole
# screenshot chain (bench/limits.md, ~3 min per model; LIMITS_MODELS="--model A --model B")
LIMITS_MODELS ?=
bench-limits: $(DEMO_OUT)/loc/summary.json
	$(PY) tools/bench_limits.py --crops $(DEMO_OUT)/loc/val/high --frames $(DEMO_DATA)/train \
	  --boxes $(DEMO_OUT)/loc/boxes.json $(LIMITS_MODELS) --out bench/limits

# Issue #16: which glyph pairs the pixels themselves still tell apart, per face and size of
# the demo generator, at train resolution, through the test frames' chain and at the real
# challenge's smallest scale; the exact-match ceiling that follows (bench/glyphs.md, no
# model needed; ~18 wall minutes on 2 cores shared with a training run), and the same for
# the unseen domain's held-out faces (bench/glyphs_heldout.md, ~16 minutes alone)
bench-glyphs: | fonts $(VENV)/.installed
	$(PY) tools/bench_glyphs.py --out bench/glyphs
	$(PY) tools/bench_glyphs.py --domain heldout --conditions train test --out bench/glyphs_heldout

# Issue #17: the same observer under the robustness corruptions at severity 2 (those a glyph
# patch can carry: not rain, fog or perspective) through the demo's test chain: which
# losses the pixels make and which the reader (bench/glyphs_corrupted.md, ~40 wall minutes
# on 2 shared cores). `--conditions test_1` asks the same at the train resolution.
GLYPH_CORRUPTIONS = "gaussian noise" "salt and pepper" "motion blur" "defocus blur" jpeg \
                    "rescale chain" "darker, less contrast" rotation
bench-glyphs-corrupted: | fonts $(VENV)/.installed
	$(PY) tools/bench_glyphs.py --conditions test --contexts 2 --corruptions $(GLYPH_CORRUPTIONS) \
	  --out bench/glyphs_corrupted

# What backgrounds cost the reader (issue #16): the demo's, the train-resolution and the
# unseen-domain test frames replayed with one flat grey behind the mark (synth_frames
# --flat-scenes: same IDs, marks, boxes and compression), read beside the originals by the
# released models; the glyph observer above sees flat backgrounds only (~5 min on 2 cores)
FLAT_DEMO   ?= data/flat/demo
FLAT_HIGH   ?= data/flat/bench_high
FLAT_UNSEEN ?= data/flat/unseen
$(FLAT_DEMO)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(FLAT_DEMO) --videos $(DEMO_VIDEOS) --seed $(DEMO_SEED) \
	  --flat-scenes --workers 2 --overwrite
$(FLAT_HIGH)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(FLAT_HIGH) --videos 150 --test-videos 150 \
	  --test-scale 1 --seed 101 --flat-scenes --workers 2 --overwrite
$(FLAT_UNSEEN)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(FLAT_UNSEEN) --domain heldout --videos 200 --test-videos 100 \
	  --seed 105 --flat-scenes --workers 2 --overwrite
bench-flat: $(DEMO_DATA)/boxes.json $(BENCH_HIGH)/boxes.json $(UNSEEN)/boxes.json $(FLAT_DEMO)/boxes.json $(FLAT_HIGH)/boxes.json $(FLAT_UNSEEN)/boxes.json
	$(PY) tools/bench.py $(RELEASE_SETS) --set low_flat=$(FLAT_DEMO)/test:$(FLAT_DEMO)/test_labels.txt \
	  --set high_flat=$(FLAT_HIGH)/test:$(FLAT_HIGH)/test_labels.txt \
	  --set unseen_low_flat=$(FLAT_UNSEEN)/test:$(FLAT_UNSEEN)/test_labels.txt \
	  --set unseen_high_flat=$(FLAT_UNSEEN)/train:$(FLAT_UNSEEN)/train_labels.txt \
	  --loc-config $(LOC_CONFIG) $(RELEASED_LOC) --out bench/flat --threads 2

# Issue #17: the released reader under 11 test-time corruptions x 3 severities, on the
# first 400 low-resolution demo test frames (~7 min on 2 cores), and on 400 frames at the
# train resolution (~12 min): the same corruptions on glyphs of twice the pixels say how
# much of the loss is the low resolution's
bench-robust: $(DEMO_DATA)/boxes.json $(BENCH_HIGH)/boxes.json
	$(PY) tools/bench_robust.py --frames $(DEMO_DATA)/test --labels $(DEMO_DATA)/test_labels.txt \
	  --limit 400 --out bench/robustness --threads 2
	$(PY) tools/bench_robust.py --frames $(BENCH_HIGH)/test --labels $(BENCH_HIGH)/test_labels.txt \
	  --limit 400 --out bench/robustness_high --threads 2

# Issue #17: frames from the wild the localiser and recogniser never saw: short sides
# 144-1080 px at 3:4, 4:3, 2:3 and 21:9, held-out faces and busy textures (gravel, UI
# chrome, stripes, tiles), half rendered large and resampled down; read end to end with
# the released models beside the demo's test frames (localisation hit, crop tightness,
# exact, top 3)
$(WILD)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(WILD) --domain wild_heldout --videos 60 --test-videos 60 \
	  --seed 106 --workers 2 --overwrite

# Frames of the wild (the recogniser's stage 7 trains on their crops; issue #17 item 2 fits
# the localiser on them): the training faces and scene bases (--domain wild), other seeds
# than the wild benchmark's held-out set; 12,914 frames in ~5 min on 2 cores
WILD_TRAIN_VIDEOS ?= 2000
$(WILD_TRAIN)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(WILD_TRAIN) --domain wild --videos $(WILD_TRAIN_VIDEOS) --test-videos 0 \
	  --seed 107 --workers 2 --overwrite

# Issue #17 item 2: the localiser fitted on the demo's frames plus the wild train frames
# (data.fit_extra), read with the released recogniser on the release's sets and the wild one
LOC_WILD ?= output/loc_wild
$(LOC_WILD)/summary.json: $(DEMO_DATA)/boxes.json $(WILD_TRAIN)/boxes.json $(LOC_CONFIG)
	$(PY) tools/localize.py -c $(LOC_CONFIG) -o data.root=$(DEMO_DATA) output.dir=$(LOC_WILD) \
	  output.id_line=true model.checkpoint=$(LOC_WILD)/model/strip_ddt.pt \
	  psol.checkpoint=$(LOC_WILD)/model/psol.pt "data.fit_extra=[$(WILD_TRAIN)/train]"
bench-loc-wild-fit: $(LOC_WILD)/summary.json $(BENCH_HIGH)/boxes.json $(UNSEEN)/boxes.json $(WILD)/boxes.json
	$(PY) tools/bench.py $(RELEASE_SETS) $(WILD_SET) \
	  --loc-config $(LOC_CONFIG) --loc-opt model.checkpoint=$(LOC_WILD)/model/strip_ddt.pt \
	  output.id_line=true --model $(RELEASE_ONNX) --out bench/loc_wild_fit --threads 2

bench-wild: $(DEMO_DATA)/boxes.json $(WILD)/boxes.json
	$(PY) tools/bench.py $(LOW_SET) $(WILD_SET) \
	  --loc-config $(LOC_CONFIG) $(RELEASED_LOC) --out bench/wild --threads 2 --passes 2

# Issue #16 item 3: the same stage-1 recipe with each encoder, each trained for the same
# CPU-minutes of its process tree (tools/cpu_budget.py ends the run and keeps a ledger, so
# other work on the machine does not take steps from an arm; a rerun resumes both the
# training and the budget), evaluated every 250 steps on the held-out crops, then compared
# in bench/encoders.md.
# 90 CPU-minutes: ~65-75 wall minutes an arm on 2 cores. The arms train with the renderer's
# glyph positions (configs/rec/parts/aligned_ctc.yml), which end CTC's blank stall near step
# 100; the same arms without them (SVTR-Tiny left the stall near step 750, SVTRv2 never did
# within the budget) are reference rows. LCNetV3 (configs/rec/lcnetv3_synth.yml) is not
# trained: ENCODER_NOTE says why, measured.
ENCODER_CPU_MINUTES ?= 90
ENCODER_ARMS    ?= svtr_tiny_synth_aligned svtrv2_small_synth_aligned svtr_tiny_synth svtrv2_small_synth
ENCODER_RUNS    ?= output/rec/encoders
ENCODER_NOTE    ?= LCNetV3 (configs/rec/lcnetv3_synth.yml, 48x320, PP-OCRv4 mobile's recogniser) \
  is not trained: measured on this machine (ppocr_ext.rec_bench.bench_config, batch 64, 2 threads) \
  it trains at 1.1 img/s fp32 / 2.5 bf16 and infers 15.5 / 17.4 crops/s, so 90 CPU-minutes hold \
  about 6,800 crops (~105 steps); its convolutions dominate (136 per step, depthwise 5x5 at 1/4 \
  and 1/8 of 48x320; channels-last fp32 4.4 img/s).
$(ENCODER_RUNS)/%/.done: configs/rec/%.yml $(EVAL_CROPS)/data.mdb
	$(PY) tools/cpu_budget.py --cpu-minutes $(ENCODER_CPU_MINUTES) --ledger $(ENCODER_RUNS)/$*/cpu.tsv \
	  -- $(PY) tools/train.py -c $< -o Global.output_dir=$(ENCODER_RUNS)/$* \
	  Eval.dataset.data_dir=$(EVAL_CROPS) "Global.eval_batch_step=[0, 250]" $(call resume_if,$(ENCODER_RUNS)/$*)
	touch $@

bench-encoders: $(foreach arm,$(ENCODER_ARMS),$(ENCODER_RUNS)/$(arm)/.done)
	$(PY) tools/bench_encoders.py --budget-cpu-minutes $(ENCODER_CPU_MINUTES) --out bench/encoders \
	  $(foreach arm,$(ENCODER_ARMS),--arm $(arm)=configs/rec/$(arm).yml:$(ENCODER_RUNS)/$(arm)) \
	  --note "$(ENCODER_NOTE)"

# --- copy detection: trace a repost to its source (issue #21) -------------------------
# The descriptor trains on its own generated frames (seed 2021, one ID per video); the
# benchmark's references and queries come from other videos (seed 11). `make bench-copy`
# runs the learned descriptor, the perceptual hash and ORB on the same queries.
COPY_TRAIN ?= data/copy_train
COPIES     ?= data/copies
COPY_SIZE  ?= small
DESCRIPTOR ?= output/copy/descriptor
$(COPY_TRAIN)/boxes.json: | fonts $(VENV)/.installed
	$(PY) tools/synth_frames.py --out $(COPY_TRAIN) --videos 450 --test-videos 0 --id-mode video \
	  --seed 2021 --workers 2 --overwrite
$(COPIES)/ground_truth.csv: | fonts $(VENV)/.installed
	$(PY) tools/synth_copies.py --out $(COPIES) --size $(COPY_SIZE) --seed 11 --workers 2 --overwrite

train-descriptor: $(DESCRIPTOR)/descriptor.pt
$(DESCRIPTOR)/descriptor.pt: $(COPY_TRAIN)/boxes.json configs/copy/descriptor.yml
	$(PY) tools/train_descriptor.py -c configs/copy/descriptor.yml -o data.frames=$(COPY_TRAIN)/train \
	  output.dir=$(DESCRIPTOR) $$( [ -f $(DESCRIPTOR)/latest.pt ] && echo --resume )

bench-copy: $(DESCRIPTOR)/descriptor.pt $(COPIES)/ground_truth.csv
	$(PY) tools/bench_copy.py --bench $(COPIES) --model $(DESCRIPTOR)/descriptor.pt \
	  --background $(COPY_TRAIN)/train --orb-limit 200 --out bench/copy
