package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
	"conceptstudio/engine/safefile"
)

// CompareConcept is one concept of a method comparison: the images it is
// trained from and the reference images its identity is measured against.
type CompareConcept struct {
	Name, Class string
	Train       []image.Image
	Refs        []image.Image // nil: Train
}

func (c CompareConcept) refs() []image.Image {
	if c.Refs != nil {
		return c.Refs
	}
	return c.Train
}

// CompareOptions configure Compare.
type CompareOptions struct {
	// Dir keeps the run: one concept file per method and concept
	// (NAME-METHOD.safetensors), results.json and table.md.
	Dir      string
	Methods  []Method
	Concepts []CompareConcept
	// Pairs are the two-concept combinations evaluated within each method,
	// by concept name (nil: the concepts in twos, in order: the first with
	// the second, the third with the fourth, ...).
	Pairs [][2]string
	// Steps are the training steps of every concept (0: each method's
	// default).
	Steps int
	Seed  uint64
	Eval  EvalOptions
	// Pareto names the concept whose Perfusion version also gets a sweep
	// over the gate β (ParetoBetas), when Perfusion is compared ("": none).
	Pareto string
}

// CompareCell is one method's concept: its file and its evaluation.
type CompareCell struct {
	Method  Method `json:"method"`
	Concept string `json:"concept"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	// TrainedNow says the concept was trained in this sitting; false: an
	// existing file for this base model and settings was reused.
	TrainedNow bool          `json:"trained_in_this_sitting"`
	Report     ConceptReport `json:"report"`
}

// ComparePair is one method's two-concept evaluation.
type ComparePair struct {
	Method   Method    `json:"method"`
	Concepts [2]string `json:"concepts"`
	SHA256   [2]string `json:"sha256"`
	// Exact: two Perfusion concepts composed with the exact multi-concept
	// form (a C⁻¹-orthonormal basis of their i*) instead of the sum of
	// their edits. Compare evaluates Perfusion's pairs both ways, to choose
	// the default by measurement.
	Exact  bool       `json:"exact,omitempty"`
	Report PairReport `json:"report"`
}

// CompareSweep is the Perfusion gate sweep of one concept.
type CompareSweep struct {
	Concept string          `json:"concept"`
	SHA256  string          `json:"sha256"`
	Reports []ConceptReport `json:"reports"`
}

// CompareRow is one method's line of the table: means over its concepts
// (Concepts of them evaluated) and over its pairs (Pairs of them).
type CompareRow struct {
	Method Method `json:"method"`
	// Exact is Perfusion's row for the exact multi-concept form: only its
	// two-concept success differs from the plain row (the same files).
	Exact bool `json:"exact,omitempty"`
	// ShapeIdentity and ShapeClassWord are the colour-blind judge's
	// identity of the concepts' images and of the class word's
	// (ConceptReport); Identity the colour oracle's.
	ShapeIdentity  float64 `json:"shape_identity"`
	ShapeClassWord float64 `json:"shape_class_word_identity"`
	Identity       float64 `json:"colour_identity"`
	PromptFidelity float64 `json:"prompt_fidelity"`
	TwoConcept     float64 `json:"two_concept_success"`
	TrainSeconds   float64 `json:"train_seconds"`
	Bytes          float64 `json:"bytes_per_concept"`
	Concepts       int     `json:"concepts"`
	Pairs          int     `json:"pairs"`
}

// CompareResults are what Compare measured; results.json holds them.
type CompareResults struct {
	BaseID     string        `json:"base_model"`
	TrainSteps int           `json:"train_steps,omitempty"` // 0: each method's default
	Seed       uint64        `json:"seed"`
	Eval       EvalOptions   `json:"eval"`
	Cells      []CompareCell `json:"concepts"`
	Pairs      []ComparePair `json:"pairs"`
	Pareto     *CompareSweep `json:"pareto,omitempty"`
	Rows       []CompareRow  `json:"table"`
	// RealIdentity is the "real images" row: the mean over concepts of
	// each reference image's identity against the concept's others.
	RealIdentity float64 `json:"colour_real_images_identity"`
	// ShapeRealIdentity is the same with the shape judge's features.
	ShapeRealIdentity float64 `json:"shape_real_images_identity"`
	// Complete is false while work is left (an interrupted run).
	Complete bool      `json:"complete"`
	Updated  time.Time `json:"updated"`
}

// CompareProgress is one report from Compare. Done and Total count work
// in rough units (one unit: one image-sized forward pass of the UNet), so
// the rate gives an estimate of the time left; work already done in an
// earlier sitting is not counted.
type CompareProgress struct {
	Stage       string
	Done, Total int
	Message     string
}

// The files Compare writes in its folder.
const (
	CompareResultsFile = "results.json"
	CompareTableFile   = "table.md"
)

// CompareConceptFile is the file a comparison keeps a concept in.
// PerfusionTrainedKeys names, in a comparison, Perfusion trained with
// TrainKeys: the design's ablation (keys trained instead of locked). Its
// concept files are ordinary Perfusion concepts with trained key targets.
const PerfusionTrainedKeys Method = "perfusion-trained-keys"

// trains is the method a comparison entry trains with.
func trains(m Method) Method {
	if m == PerfusionTrainedKeys {
		return Perfusion
	}
	return m
}

func CompareConceptFile(dir, name string, m Method) string {
	return filepath.Join(dir, name+"-"+string(m)+".safetensors")
}

// comparePlan is the work for one method's concept.
type comparePlan struct {
	m       Method
	cc      *CompareConcept
	path    string
	concept *Concept // loaded or trained
	sha     string
	cached  *ConceptReport
	steps   int
	batch   int
	trained bool
}

// Compare trains every method on every concept, times it and evaluates
// it (EvalConceptWith with opt.Eval), then evaluates each pair of concepts
// within each method (EvalPair) and the Pareto concept's gate sweep. It is
// resumable: a concept file in Dir made on this base model with the same
// training settings is used instead of training again (an interrupted
// training continues from its checkpoint), and an evaluation in
// Dir/results.json of the same file with the same evaluation settings is
// kept. After each piece of work results.json and table.md are rewritten,
// so an interruption loses only the piece under way.
func (b *Base) Compare(ctx context.Context, opt CompareOptions, progress func(CompareProgress)) (*CompareResults, error) {
	if progress == nil {
		progress = func(CompareProgress) {}
	}
	if opt.Dir == "" || len(opt.Methods) == 0 || len(opt.Concepts) == 0 {
		return nil, errors.New("compare: a folder, methods and concepts are needed")
	}
	byName := map[string]*CompareConcept{}
	for i := range opt.Concepts {
		c := &opt.Concepts[i]
		if err := ValidName(c.Name); err != nil {
			return nil, err
		}
		if byName[c.Name] != nil {
			return nil, fmt.Errorf("compare: the concept %s is named twice", c.Name)
		}
		if len(c.Train) == 0 {
			return nil, fmt.Errorf("compare: %s has no training images", c.Name)
		}
		byName[c.Name] = c
	}
	pairs := opt.Pairs
	if pairs == nil {
		for i := 0; i+1 < len(opt.Concepts); i += 2 {
			pairs = append(pairs, [2]string{opt.Concepts[i].Name, opt.Concepts[i+1].Name})
		}
	}
	for _, p := range pairs {
		if byName[p[0]] == nil || byName[p[1]] == nil || p[0] == p[1] {
			return nil, fmt.Errorf("compare: the pair %s+%s needs two different concepts of the comparison", p[0], p[1])
		}
	}
	for _, m := range opt.Methods {
		if !knownMethod(m) && m != PerfusionTrainedKeys {
			return nil, fmt.Errorf("%w: compare cannot train %q", ErrMethod, m)
		}
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", opt.Dir, err)
	}
	res := &CompareResults{BaseID: b.ID(), TrainSteps: opt.Steps, Seed: opt.Seed, Eval: opt.Eval}
	prev := b.previousResults(opt)

	// Plan: which files can be reused, which evaluations are kept.
	var plans []*comparePlan
	for _, m := range opt.Methods {
		d := Defaults(trains(m))
		for i := range opt.Concepts {
			cc := &opt.Concepts[i]
			p := &comparePlan{m: m, cc: cc, path: CompareConceptFile(opt.Dir, cc.Name, m), steps: cmp.Or(opt.Steps, d.Steps), batch: d.Batch}
			if c, sha, err := readConceptHashed(p.path); err == nil && c.BaseID == b.ID() && c.Method == trains(m) && c.Settings.TrainedKeys == (m == PerfusionTrainedKeys) && c.Name == cc.Name &&
				c.Class == cc.Class && c.Settings.Steps == p.steps && c.Settings.Images == len(cc.Train) {
				p.concept, p.sha = c, sha
				if c.Thumbnail == nil {
					if err := compareThumbnail(p); err != nil {
						return nil, err
					}
					sha = p.sha
				}
				if prev != nil {
					for _, pc := range prev.Cells {
						if pc.Method == m && pc.Concept == cc.Name && pc.SHA256 == sha {
							r := pc.Report
							p.cached = &r
						}
					}
				}
			}
			plans = append(plans, p)
		}
	}
	// Work units: a training step of batch B is ~3B image passes, an image
	// at S sampler steps ~2S (guidance doubles the batch).
	imgUnits := 2 * opt.Eval.sampleSteps()
	promptsPer := func(cc *CompareConcept) int {
		return len(pick(len(dataset.ConceptPrompts(cc.Name, cc.Class)), opt.Eval.Prompts))
	}
	total := 0
	for _, p := range plans {
		if p.concept == nil {
			total += p.steps * 3 * p.batch
			if p.m == DreamBooth {
				total += Defaults(DreamBooth).PriorN * 2 * 20
			}
		}
		if p.cached == nil {
			total += promptsPer(p.cc) * imgUnits
		}
	}
	pairImgs := len(pairRelations) * 2 * opt.Eval.pairSeeds()
	pairRuns := len(opt.Methods)
	if slices.Contains(opt.Methods, Perfusion) {
		pairRuns++ // the exact multi-concept form too
	}
	total += pairRuns * len(pairs) * pairImgs * imgUnits // an estimate: cached pairs are taken off below
	sweep := opt.Pareto != "" && byName[opt.Pareto] != nil && slices.Contains(opt.Methods, Perfusion)
	if sweep {
		total += len(ParetoBetas) * promptsPer(byName[opt.Pareto]) * imgUnits
	}
	if prev != nil {
		for _, pp := range prev.Pairs {
			if planFor(plans, pp.Method, pp.Concepts[0]).cachedSHA() == pp.SHA256[0] && planFor(plans, pp.Method, pp.Concepts[1]).cachedSHA() == pp.SHA256[1] {
				total -= pairImgs * imgUnits
			}
		}
		if sweep && prev.Pareto != nil && prev.Pareto.Concept == opt.Pareto && planFor(plans, Perfusion, opt.Pareto).cachedSHA() == prev.Pareto.SHA256 {
			total -= len(ParetoBetas) * promptsPer(byName[opt.Pareto]) * imgUnits
		}
	}
	done := 0
	report := func(stage string, units int, msg string) {
		progress(CompareProgress{Stage: stage, Done: min(done+units, total), Total: total, Message: msg})
	}
	save := func() error { return res.save(opt.Dir) }

	t, err := loadEvalTools()
	if err != nil {
		return nil, err
	}
	defer t.close()
	for _, m := range opt.Methods {
		for _, p := range plans {
			if p.m != m {
				continue
			}
			label := p.cc.Name + "* " + string(m)
			if p.concept == nil {
				base := done
				c, err := b.compareTrain(ctx, p, opt.Seed, func(step int) {
					report("training "+label, step*3*p.batch, "")
				})
				if err != nil {
					return res, err
				}
				done = base + p.steps*3*p.batch
				if m == DreamBooth {
					done += Defaults(DreamBooth).PriorN * 2 * 20
				}
				p.concept, p.trained = c, true
				if _, p.sha, err = readConceptHashed(p.path); err != nil {
					return res, err
				}
			}
			cell := CompareCell{Method: m, Concept: p.cc.Name, File: filepath.Base(p.path), SHA256: p.sha, TrainedNow: p.trained}
			if p.cached != nil {
				cell.Report = *p.cached
			} else {
				rep, err := b.evalConcept(ctx, t, p.concept, p.cc.refs(), opt.Eval, func(k, _ int) {
					report("evaluating "+label, k*imgUnits, "")
				})
				if err != nil {
					return res, err
				}
				done += promptsPer(p.cc) * imgUnits
				cell.Report = rep
			}
			res.Cells = append(res.Cells, cell)
			if err := save(); err != nil {
				return res, err
			}
		}
		forms := []bool{false}
		if m == Perfusion {
			forms = append(forms, true)
		}
		for _, exact := range forms {
			for _, pr := range pairs {
				pa, pb := planFor(plans, m, pr[0]), planFor(plans, m, pr[1])
				cp := ComparePair{Method: m, Concepts: pr, SHA256: [2]string{pa.sha, pb.sha}, Exact: exact}
				if cached := prev.pair(cp); cached != nil {
					cp.Report = *cached
				} else {
					ev := opt.Eval
					ev.ExactPerfusion = exact
					label := string(m)
					if exact {
						label += " (exact)"
					}
					rep, err := b.evalPair(ctx, t, pa.concept, pb.concept, pa.cc.refs(), pb.cc.refs(), ev, func(k, _ int) {
						report(fmt.Sprintf("two concepts %s*+%s* %s", pr[0], pr[1], label), k*imgUnits, "")
					})
					if err != nil {
						return res, err
					}
					done += pairImgs * imgUnits
					cp.Report = rep
				}
				res.Pairs = append(res.Pairs, cp)
				if err := save(); err != nil {
					return res, err
				}
			}
		}
	}
	if sweep {
		p := planFor(plans, Perfusion, opt.Pareto)
		if prev != nil && prev.Pareto != nil && prev.Pareto.Concept == opt.Pareto && prev.Pareto.SHA256 == p.sha && len(prev.Pareto.Reports) == len(ParetoBetas) {
			res.Pareto = prev.Pareto
		} else {
			n := promptsPer(p.cc)
			sw := &CompareSweep{Concept: opt.Pareto, SHA256: p.sha}
			for _, beta := range ParetoBetas {
				o := opt.Eval
				o.Beta = beta
				rep, err := b.evalConcept(ctx, t, p.concept, p.cc.refs(), o, func(i, _ int) {
					report(fmt.Sprintf("gate sweep %s* β=%g", opt.Pareto, beta), i*imgUnits, "")
				})
				if err != nil {
					return res, err
				}
				done += n * imgUnits
				sw.Reports = append(sw.Reports, rep)
			}
			res.Pareto = sw
		}
	}
	res.Complete = true
	if err := save(); err != nil {
		return res, err
	}
	report("done", 0, "")
	return res, nil
}

func planFor(plans []*comparePlan, m Method, name string) *comparePlan {
	for _, p := range plans {
		if p.m == m && p.cc.Name == name {
			return p
		}
	}
	return &comparePlan{}
}

// cachedSHA is the hash of a reused concept file ("" when it is trained
// now, so no earlier evaluation of it can be kept).
func (p *comparePlan) cachedSHA() string {
	if p.concept == nil {
		return ""
	}
	return p.sha
}

// pair is an earlier evaluation of the same pair of files.
func (r *CompareResults) pair(cp ComparePair) *PairReport {
	if r == nil {
		return nil
	}
	for _, pp := range r.Pairs {
		if pp.Method == cp.Method && pp.Concepts == cp.Concepts && pp.SHA256 == cp.SHA256 && pp.Exact == cp.Exact {
			rep := pp.Report
			return &rep
		}
	}
	return nil
}

// previousResults reads an earlier sitting's results when they were made
// on this base model with the same settings (nil otherwise: then nothing
// of them is kept).
func (b *Base) previousResults(opt CompareOptions) *CompareResults {
	data, err := os.ReadFile(filepath.Join(opt.Dir, CompareResultsFile))
	if err != nil {
		return nil
	}
	var r CompareResults
	if json.Unmarshal(data, &r) != nil || r.BaseID != b.ID() || r.Eval != opt.Eval || r.TrainSteps != opt.Steps || r.Seed != opt.Seed {
		return nil
	}
	return &r
}

// readConceptHashed reads a concept file and its SHA-256.
func readConceptHashed(path string) (*Concept, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	c, err := DecodeConcept(data)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return c, hex.EncodeToString(sum[:]), nil
}

// compareTrain trains one concept and writes its file, with the
// thumbnail the app gives every concept (ConceptThumbnail: on a base
// that takes reference pictures the concept is drawn from it, so a
// concept without one would be measured as no user has it; the size
// reported is the whole file's). The training checkpoint is named by the
// base model and the steps, so an interrupted run continues only on the
// same model and settings.
func (b *Base) compareTrain(ctx context.Context, p *comparePlan, seed uint64, step func(int)) (*Concept, error) {
	cs, err := p.conceptSet()
	if err != nil {
		return nil, err
	}
	ckpt := fmt.Sprintf("%s.%s-%d.partial", strings.TrimSuffix(p.path, ".safetensors"), b.ID()[:8], p.steps)
	c, err := b.TrainConcept(ctx, TrainOptions{
		Method: trains(p.m), TrainKeys: p.m == PerfusionTrainedKeys, Name: p.cc.Name, Class: p.cc.Class, Steps: p.steps, Seed: seed,
		Data: cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions()), Images: len(p.cc.Train),
		Checkpoint: ckpt,
	}, func(tp TrainProgress) { step(tp.Step) })
	if err != nil {
		return nil, err
	}
	if c.Thumbnail, err = ConceptThumbnail(cs); err != nil {
		return nil, err
	}
	if err := WriteConceptFile(p.path, c); err != nil {
		return nil, err
	}
	return c, nil
}

// compareThumbnail gives a concept file an earlier comparison trained
// without a thumbnail the one compareTrain gives (training does not read
// it, so the weights stand) and writes it again; its SHA-256 changes, so
// its evaluations are made again.
func compareThumbnail(p *comparePlan) error {
	cs, err := p.conceptSet()
	if err != nil {
		return err
	}
	if p.concept.Thumbnail, err = ConceptThumbnail(cs); err != nil {
		return err
	}
	if err := WriteConceptFile(p.path, p.concept); err != nil {
		return err
	}
	_, p.sha, err = readConceptHashed(p.path)
	return err
}

// conceptSet is the plan's concept as training sees it: its training
// pictures' cut-outs.
func (p *comparePlan) conceptSet() (*dataset.ConceptSet, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return nil, err
	}
	cs, err := dataset.NewConceptSet(atlas, p.cc.Name, p.cc.Class, p.cc.Train)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.cc.Name, err)
	}
	return cs, nil
}

// save computes the table rows and writes results.json and table.md.
func (r *CompareResults) save(dir string) error {
	r.summarise()
	r.Updated = time.Now().UTC()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := safefile.Write(filepath.Join(dir, CompareResultsFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return err
	}
	return safefile.Write(filepath.Join(dir, CompareTableFile), func(w io.Writer) error {
		_, err := io.WriteString(w, r.Table())
		return err
	})
}

// summarise fills Rows and RealIdentity from the cells and pairs.
func (r *CompareResults) summarise() {
	r.Rows = nil
	var methods []Method
	for _, c := range r.Cells {
		if !slices.Contains(methods, c.Method) {
			methods = append(methods, c.Method)
		}
	}
	realID, realShape := map[string]float64{}, map[string]float64{}
	for _, m := range methods {
		row := CompareRow{Method: m}
		for _, c := range r.Cells {
			if c.Method != m {
				continue
			}
			row.Concepts++
			row.Identity += c.Report.Identity
			row.ShapeIdentity += c.Report.ShapeIdentity
			row.ShapeClassWord += c.Report.ShapeClassWord
			realShape[c.Concept] = c.Report.ShapeRealIdentity
			row.PromptFidelity += c.Report.PromptFidelity
			row.TrainSeconds += c.Report.TrainSeconds
			row.Bytes += float64(c.Report.Bytes)
			realID[c.Concept] = c.Report.RealIdentity
		}
		n := float64(row.Concepts)
		row.Identity, row.PromptFidelity, row.TrainSeconds, row.Bytes = row.Identity/n, row.PromptFidelity/n, row.TrainSeconds/n, row.Bytes/n
		row.ShapeIdentity, row.ShapeClassWord = row.ShapeIdentity/n, row.ShapeClassWord/n
		exact := row // the same concepts, composed with the exact form
		exact.Exact = true
		for _, p := range r.Pairs {
			switch {
			case p.Method == m && !p.Exact:
				row.Pairs++
				row.TwoConcept += p.Report.Success
			case p.Method == m:
				exact.Pairs++
				exact.TwoConcept += p.Report.Success
			}
		}
		for _, x := range []*CompareRow{&row, &exact} {
			if x.Pairs > 0 {
				x.TwoConcept /= float64(x.Pairs)
			}
		}
		r.Rows = append(r.Rows, row)
		if exact.Pairs > 0 {
			r.Rows = append(r.Rows, exact)
		}
	}
	r.RealIdentity, r.ShapeRealIdentity = 0, 0
	for _, v := range realID {
		r.RealIdentity += v / float64(len(realID))
	}
	for _, v := range realShape {
		r.ShapeRealIdentity += v / float64(len(realShape))
	}
}

// Table is the comparison as Markdown: one row per method (means over its
// concepts and pairs), the "real images" identity row, and the gate sweep.
func (r *CompareResults) Table() string {
	var b strings.Builder
	dash := "–"
	fmt.Fprintf(&b, "| method | shape identity | class word's | colour identity | prompt fidelity | two-concept success | train seconds | bytes per concept |\n|---|---|---|---|---|---|---|---|\n")
	if len(r.Rows) > 0 {
		fmt.Fprintf(&b, "| real images | %.3f | %s | %.3f | %s | %s | %s | %s |\n", r.ShapeRealIdentity, dash, r.RealIdentity, dash, dash, dash, dash)
	}
	for _, row := range r.Rows {
		two := dash
		if row.Pairs > 0 {
			two = fmt.Sprintf("%.0f%%", 100*row.TwoConcept)
		}
		secs := fmt.Sprintf("%.0f", row.TrainSeconds)
		if row.TrainSeconds < 10 {
			secs = fmt.Sprintf("%.2g", row.TrainSeconds)
		}
		name := string(row.Method)
		if row.Exact {
			name += ", exact multi-concept form"
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %s | %s | %s |\n", name, row.ShapeIdentity, row.ShapeClassWord, row.Identity, row.PromptFidelity, two, secs, humanBytes(row.Bytes))
	}
	if r.Pareto != nil && len(r.Pareto.Reports) > 0 {
		fmt.Fprintf(&b, "\nPerfusion gate sweep, %s*:\n\n| β | shape identity | colour identity | prompt fidelity |\n|---|---|---|---|\n", r.Pareto.Concept)
		for _, rep := range r.Pareto.Reports {
			fmt.Fprintf(&b, "| %.2f | %.3f | %.3f | %.3f |\n", rep.Beta, rep.ShapeIdentity, rep.Identity, rep.PromptFidelity)
		}
	}
	r.scenesTable(&b)
	steps := "each method's default"
	if r.TrainSteps > 0 {
		steps = fmt.Sprint(r.TrainSteps)
	}
	prompts := "all 24"
	if r.Eval.Prompts > 0 {
		prompts = fmt.Sprint(r.Eval.Prompts)
	}
	fmt.Fprintf(&b, "\nBase model %s; training steps: %s; evaluation: %s concept prompts, %d sampler steps, %d seeds per two-concept prompt. Means over %d concept(s) and %d pair(s) per method; train seconds on the machine that trained each file (all sittings of a resumed training).\n",
		r.BaseID, steps, prompts, r.Eval.sampleSteps(), r.Eval.pairSeeds(), countConcepts(r), countPairs(r))
	if !r.Complete {
		b.WriteString("\n**Incomplete**: the run was interrupted; run the same command again to finish it.\n")
	}
	return b.String()
}

// scenesTable writes each method's scenes in boxes (the pairs' Scenes,
// pooled): things in their boxes and their boxes' own best, with the boxes
// steering and without.
func (r *CompareResults) scenesTable(b *strings.Builder) {
	type acc struct{ with, without eval.RegionRates }
	rows := map[string]map[int]*acc{}
	var order []string
	for _, p := range r.Pairs {
		name := string(p.Method)
		if p.Exact {
			name += ", exact"
		}
		for _, sc := range p.Report.Scenes {
			if rows[name] == nil {
				rows[name] = map[int]*acc{}
				order = append(order, name)
			}
			a := rows[name][sc.Things]
			if a == nil {
				a = &acc{}
				rows[name][sc.Things] = a
			}
			a.with.Merge(sc.Regions)
			a.without.Merge(sc.NoRegions)
		}
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintf(b, "\nScenes in boxes (the two concepts alone, and with one or two plain things), judged colour-blind: things in their boxes, and whose box holds more of them than of any other thing (bleeding's opposite), with the boxes steering / without:\n\n| method | 2 in box | 3 in box | 4 in box | 2 own box best | 3 own box best | 4 own box best |\n|---|---|---|---|---|---|---|\n")
	for _, name := range order {
		cell := func(k int, f func(eval.RegionRates) float64) string {
			a := rows[name][k]
			if a == nil {
				return "–"
			}
			return fmt.Sprintf("%.2f / %.2f", f(a.with), f(a.without))
		}
		in := func(v eval.RegionRates) float64 { return v.InBox }
		own := func(v eval.RegionRates) float64 { return v.OwnBest }
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, cell(2, in), cell(3, in), cell(4, in), cell(2, own), cell(3, own), cell(4, own))
	}
}

func countConcepts(r *CompareResults) int {
	if len(r.Rows) == 0 {
		return 0
	}
	return r.Rows[0].Concepts
}

func countPairs(r *CompareResults) int {
	if len(r.Rows) == 0 {
		return 0
	}
	return r.Rows[0].Pairs
}

// humanBytes writes a size in B, KiB or MiB.
func humanBytes(n float64) string {
	switch {
	case math.IsNaN(n):
		return "–"
	case n < 1024:
		return fmt.Sprintf("%.0f B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", n/1024)
	default:
		return fmt.Sprintf("%.1f MiB", n/1024/1024)
	}
}
