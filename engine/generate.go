package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/kernels"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// ErrPrompt marks a prompt the model cannot read (unknown words, too long).
var ErrPrompt = errors.New("prompt")

// DefaultGuidance is the classifier-free guidance scale the window and
// the command line draw with unless told otherwise, and every evaluation
// image, sample grid and DreamBooth class image is drawn with.
const DefaultGuidance = 3.0

// promptError explains a prompt problem in one sentence while still
// matching ErrPrompt and the tokenizer's errors with errors.Is.
type promptError struct {
	msg string
	err error
}

func (e *promptError) Error() string   { return e.msg }
func (e *promptError) Unwrap() []error { return []error{ErrPrompt, e.err} }

// GenerateOptions describe one generation.
type GenerateOptions struct {
	Prompt   string
	N        int     // images (default 1)
	Seed     uint64  // same seed, same images
	Steps    int     // sampler steps (default 25)
	Guidance float64 // classifier-free guidance scale (0: unguided... default 4 via the app)
	Sampler  diffusion.SamplerKind
	// ExactPerfusion uses Perfusion's exact multi-concept form (a
	// C⁻¹-orthonormal basis of the concepts' i*) instead of the sum.
	ExactPerfusion bool
	// GlobalLocking takes Perfusion's keys from the whole prompt with each
	// concept word replaced by its class word (local locking otherwise).
	GlobalLocking bool
	// Layout is the layout guidance's strength: for a prompt relating two
	// things ("a cat on the left of a car"), the value taken from each
	// thing's attention scores in the other thing's half of the image; 0:
	// none. See layout.go.
	Layout float64
	// Regions steer things of the prompt into boxes (up to
	// region.MaxRegions; layout.go), with the strength of Layout. With
	// regions, the relation words' halves are not used.
	Regions []region.Region
	// thingColours are the concepts' colours for regions' starting
	// layout, by pseudo-word (set by GenerateWith from the thumbnails).
	thingColours map[string]color.NRGBA
	// start, when set, holds N pictures (NHWC in [−1, 1], PictureSize)
	// the sampler starts from, noised to startStrength of the schedule
	// (SDEdit): the shape probe's FromTruth.
	start         []float32
	startStrength float64
	// frames, for a frames design (model.Config.Frames), say where each
	// image's objects go (one set per image; nil: planned from the regions
	// or the prompt, planFrames); noFrames draws from the prompt alone.
	frames   [][model.FrameSlots]model.Frame
	noFrames bool
	// noRefs draws a refs design (model.Config.Refs) without reference
	// pictures; thingRefs are the concepts' reference pictures (their
	// thumbnails), by pseudo-word (set by GenerateWith).
	noRefs    bool
	thingRefs map[string]dataset.Layer
	// Attention, when set, receives where each word of the prompt was
	// attended to in each image.
	Attention *AttentionMaps
}

// AttentionMaps are cross-attention maps of one generation: for image i
// and prompt word w, Maps[i][w] is an ImageSize×ImageSize map (row-major)
// of how much the image attended to that word, averaged over layers,
// heads and sampling steps, scaled so that its largest value is 1.
type AttentionMaps struct {
	Words []string
	Size  int
	Maps  [][][]float32
}

// sampler holds compiled forward nets per (batch, replica).
type sampler struct {
	mu   sync.Mutex
	nets map[netKey]*model.Net
}

// netKey names a compiled sampling net.
type netKey struct {
	batch, replica int
	guide          bool
}

var samplers sync.Map // *Base → *sampler

func (b *Base) sampler() *sampler {
	v, _ := samplers.LoadOrStore(b, &sampler{nets: map[netKey]*model.Net{}})
	return v.(*sampler)
}

// closeNets frees the base's cached sampling nets.
func (b *Base) closeNets() {
	v, ok := samplers.LoadAndDelete(b)
	if !ok {
		return
	}
	s := v.(*sampler)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nets {
		n.Close()
	}
}

func (b *Base) net(batch, replica int) (*model.Net, error) {
	return b.netWith(batch, replica, false)
}

// netWith is net, with a place-guide input when guide is set.
func (b *Base) netWith(batch, replica int, guide bool) (*model.Net, error) {
	s := b.sampler()
	key := netKey{batch, replica, guide}
	if n, ok := s.nets[key]; ok {
		return n, nil
	}
	n, err := model.Build(b.W, b.Cfg, model.NetOptions{Batch: batch, PlaceGuide: guide})
	if err != nil {
		return nil, err
	}
	s.nets[key] = n
	return n, nil
}

// Encode turns a prompt into token ids padded to MaxLen and its length,
// with a clear error naming unknown words.
func (b *Base) Encode(prompt string) (ids []int, length int, err error) {
	return b.encodeWith(b.Tok, prompt)
}

// encodeWith is Encode with another tokenizer (a session's, which knows
// its concepts' pseudo-words).
func (b *Base) encodeWith(tok *dataset.Tokenizer, prompt string) (ids []int, length int, err error) {
	ids, unknown, err := tok.Encode(prompt, b.Cfg.MaxLen)
	if err != nil {
		msg := err.Error()
		if len(unknown) > 0 {
			q := make([]string, len(unknown))
			for i, u := range unknown {
				q[i] = strconv.Quote(u)
			}
			msg = "the model does not know " + strings.Join(q, ", ")
			if errors.Is(err, dataset.ErrTooLong) {
				msg += fmt.Sprintf(", and the prompt is too long (at most %d words)", b.Cfg.MaxLen-2)
			}
		} else if errors.Is(err, dataset.ErrTooLong) {
			msg = fmt.Sprintf("the prompt is too long (at most %d words)", b.Cfg.MaxLen-2)
		}
		return nil, 0, &promptError{msg: msg, err: err}
	}
	length = 0
	for length < len(ids) && ids[length] != dataset.PadID {
		length++
	}
	return ids, length, nil
}

// KnownPrompt is the prompt as generation reads it: its words, lower
// case and space-separated (the tokenizer reads them as it reads the
// prompt), without the plain words the model does not know, which are
// returned in unknown, in order. Pseudo-words (name*) are always kept: a
// concept that is not loaded stays an error. When words are left out and
// no word that names something is left (only grammar words such as "a",
// "on", "blue"), err is the prompt error naming the unknown words: there
// would be nothing of the user's left to draw.
func (b *Base) KnownPrompt(prompt string) (known string, unknown []string, err error) {
	if b.Tok == nil {
		// A network without a vocabulary (bench's) has nothing to check
		// words against; its own encoder reads the prompt.
		return prompt, nil, nil
	}
	var kept []string
	named := false
	for _, w := range dataset.Words(prompt) {
		if _, ok := b.Tok.ID(w); !ok && !strings.HasSuffix(w, "*") {
			unknown = append(unknown, w)
			continue
		}
		kept = append(kept, w)
		named = named || !grammarWord(w)
	}
	if len(unknown) > 0 && !named {
		_, _, err = b.Encode(prompt)
		return "", unknown, err
	}
	return strings.Join(kept, " "), unknown, nil
}

// Generate renders opt.N images for the prompt.
func (b *Base) Generate(ctx context.Context, opt GenerateOptions, progress func(step, total int)) ([]*image.NRGBA, error) {
	s := b.sampler()
	s.mu.Lock()
	defer s.mu.Unlock()
	return b.sample(ctx, opt, b.Encode, b.netWith, nil, progress)
}

// sample runs the sampler with a prompt encoder and a net factory (the
// base's cached nets, or a session's with concepts). The batch (both
// halves of classifier-free guidance) is split over one net per core, each
// with single-threaded BLAS, run side by side: faster on few cores than
// one net whose BLAS calls share the cores (see replicas.go).
func (b *Base) sample(ctx context.Context, opt GenerateOptions, encode func(string) ([]int, int, error), netFor func(batch, replica int, guide bool) (*model.Net, error), keyIDs func([]int) []int, progress func(step, total int)) ([]*image.NRGBA, error) {
	if opt.N < 1 {
		opt.N = 1
	}
	// Words the model does not know are left out (the window marks them,
	// the command line notes them), so that free phrasing still draws
	// what the model knows; the guide and attention maps below read the
	// same words.
	known, _, err := b.KnownPrompt(opt.Prompt)
	if err != nil {
		return nil, err
	}
	opt.Prompt = known
	ids, length, err := encode(opt.Prompt)
	if err != nil {
		return nil, err
	}
	empty, emptyLen, _ := encode("")
	guided := opt.Guidance != 1
	batch := opt.N
	if guided {
		batch = 2 * opt.N
	}
	L := b.Cfg.MaxLen
	G := b.Cfg.GuideGrid()
	guide, err := guideMaps(opt.Prompt, opt.Regions, L, G, opt.Layout)
	if err != nil {
		return nil, err
	}
	k := replicaCount(batch, 0)
	per := batch / k
	nets := make([]*model.Net, k)
	for i := range nets {
		if nets[i], err = netFor(per, i, guide != nil); err != nil {
			return nil, err
		}
	}
	if k > 1 {
		kernels.BeginReplicas()
		defer kernels.EndReplicas()
	}
	allIDs := make([]int, 0, batch*L)
	lengths := make([]int, 0, batch)
	if guided {
		for i := 0; i < opt.N; i++ {
			allIDs = append(allIDs, empty...)
			lengths = append(lengths, emptyLen)
		}
	}
	for i := 0; i < opt.N; i++ {
		allIDs = append(allIDs, ids...)
		lengths = append(lengths, length)
	}
	var guides []float32 // [batch, L, G·G]: the conditional rows guided
	if guide != nil {
		guides = make([]float32, batch*L*G*G)
		for i := batch - opt.N; i < batch; i++ {
			copy(guides[i*L*G*G:], guide)
		}
	}
	var keys []int
	if keyIDs != nil {
		keys = keyIDs(allIDs)
	}
	if b.Cfg.Frames && opt.frames == nil && !opt.noFrames {
		frng := rand.New(rand.NewPCG(opt.Seed, 0xF4A3E5))
		words := dataset.Words(opt.Prompt)
		for i := 0; i < opt.N; i++ {
			opt.frames = append(opt.frames, planFrames(words, opt.Regions, frng))
		}
	}
	var frames [][model.FrameSlots]model.Frame // the conditional rows' frames; the rest none
	if b.Cfg.Frames && opt.frames != nil && !opt.noFrames {
		if len(opt.frames) != opt.N {
			return nil, fmt.Errorf("%d frame sets for %d images", len(opt.frames), opt.N)
		}
		frames = make([][model.FrameSlots]model.Frame, batch)
		copy(frames[batch-opt.N:], opt.frames)
	}
	var refs []float32 // the conditional rows' reference pictures; the rest none
	rper := b.Cfg.ImageSize * b.Cfg.ImageSize * model.RefPixelChannels
	if b.Cfg.Refs && frames != nil && !opt.noRefs {
		own, err := b.referencePictures(opt)
		if err != nil {
			return nil, err
		}
		refs = make([]float32, batch*rper)
		copy(refs[(batch-opt.N)*rper:], own)
	}
	tf := make([]float64, batch)
	img := b.Cfg.ImageSize * b.Cfg.ImageSize * b.Cfg.InChannels
	var acc [][][]float32 // [image][token position] maps, summed over steps
	S := b.Cfg.ImageSize
	if opt.Attention != nil {
		acc = make([][][]float32, opt.N)
		for i := range acc {
			acc[i] = make([][]float32, L)
			for j := range acc[i] {
				acc[i][j] = make([]float32, S*S)
			}
		}
	}
	var estimate []float32 // self-conditioning: each row's clean picture as the step before saw it
	den := func(x []float32, t []int, n int) ([]float32, error) {
		for i, ti := range t {
			tf[i] = float64(ti)
		}
		out := make([]float32, len(x))
		errs := make([]error, k)
		var wg sync.WaitGroup
		for r, net := range nets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := r*per, (r+1)*per
				err := net.Set(x[lo*img:hi*img], tf[lo:hi], allIDs[lo*L:hi*L], lengths[lo:hi], nil, nil)
				if err == nil && keys != nil {
					err = net.SetKeyIDs(keys[lo*L : hi*L])
				}
				if err == nil && frames != nil {
					err = net.SetFrames(frames[lo:hi])
				}
				if err == nil && refs != nil {
					err = net.SetRefs(refs[lo*rper : hi*rper])
				}
				if err == nil && estimate != nil {
					err = net.SetSelfCond(estimate[lo*img : hi*img])
				}
				if err == nil && guides != nil {
					err = net.SetPlaceGuide(guides[lo*L*G*G : hi*L*G*G])
				}
				if err == nil {
					err = net.Run()
				}
				if err == nil {
					copy(out[lo*img:hi*img], net.Output())
					// the conditional rows are the last N of the batch
					for row := max(lo, batch-opt.N); acc != nil && row < hi; row++ {
						net.AddCrossAttention(row-lo, S, acc[row-(batch-opt.N)])
					}
				}
				errs[r] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if b.Cfg.SelfCond {
			est, err := b.selfCondEstimate(x, out, t)
			if err != nil {
				return nil, err
			}
			estimate = est
		}
		return out, nil
	}
	model := diffusion.Denoiser(den)
	if guided {
		model = diffusion.CFG(den, opt.Guidance)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xC0FFEE))
	dopt := diffusion.Options{Sampler: opt.Sampler, Steps: opt.Steps, ClipX0: true, Progress: progress}
	if len(opt.Regions) > 0 && opt.Layout > 0 && (b.Cfg.InChannels == 3 || b.AE != nil) {
		atlas, err := sharedAtlas()
		if err != nil {
			return nil, err
		}
		one := regionInit(atlas, dataset.Words(opt.Prompt), opt.Regions, opt.thingColours, b.PictureSize())
		if one != nil && b.AE != nil {
			// A latent base starts from the layout's latents.
			if one, err = b.encodePictures(one, 1); err != nil {
				return nil, err
			}
		}
		if one != nil {
			dopt.Init = make([]float32, 0, opt.N*img)
			for i := 0; i < opt.N; i++ {
				dopt.Init = append(dopt.Init, one...)
			}
			dopt.InitStrength = regionStart
		}
	}
	if opt.start != nil {
		init := opt.start
		if b.AE != nil {
			var err error
			if init, err = b.encodePictures(init, opt.N); err != nil {
				return nil, err
			}
		}
		if len(init) != opt.N*img {
			return nil, fmt.Errorf("a start of %d values for %d images of %d", len(init), opt.N, img)
		}
		dopt.Init, dopt.InitStrength = init, opt.startStrength
	}
	out, err := diffusion.Sample(ctx, b.Sched, b.Pred, model, opt.N, img, rng, dopt)
	if err != nil {
		return nil, err
	}
	if opt.Attention != nil {
		words := dataset.Words(opt.Prompt)
		*opt.Attention = AttentionMaps{Words: words, Size: S, Maps: make([][][]float32, opt.N)}
		for i := range acc {
			for w := range words {
				m := acc[i][w+1] // position 0 is <start>
				var top float32
				for _, v := range m {
					top = max(top, v)
				}
				if top > 0 {
					for k := range m {
						m[k] /= top
					}
				}
				opt.Attention.Maps[i] = append(opt.Attention.Maps[i], m)
			}
		}
	}
	pix, size, channels := out, b.Cfg.ImageSize, b.Cfg.InChannels
	if b.AE != nil {
		if pix, err = b.decodeLatents(out, opt.N); err != nil {
			return nil, err
		}
		size, channels = b.PictureSize(), 3
	}
	picture := size * size * channels
	imgs := make([]*image.NRGBA, opt.N)
	for i := range imgs {
		imgs[i] = ToImage(pix[i*picture:(i+1)*picture], size, channels)
	}
	return imgs, nil
}

// decodeLatents turns n scaled latents (what the UNet draws) into
// pictures with the autoencoder.
func (b *Base) decodeLatents(z []float32, n int) ([]float32, error) {
	inv := float32(1 / b.AE.Record.Scale)
	scaled := make([]float32, len(z))
	for i, v := range z {
		scaled[i] = v * inv
	}
	return b.AE.Decode(scaled, n)
}

// encodePictures turns n pictures (NHWC in [−1, 1], the autoencoder's
// size) into the scaled latents the UNet trains on.
func (b *Base) encodePictures(x []float32, n int) ([]float32, error) {
	return b.encodePicturesSplit(x, n, 1)
}

// encodePicturesSplit is encodePictures with the batch encoded in parts
// shares at once (autoenc.Model.EncodeSplit).
func (b *Base) encodePicturesSplit(x []float32, n, parts int) ([]float32, error) {
	z, err := b.AE.EncodeSplit(x, n, parts)
	if err != nil {
		return nil, err
	}
	s := float32(b.AE.Record.Scale)
	for i := range z {
		z[i] *= s
	}
	return z, nil
}

// ToImage converts an NHWC image in [-1, 1] to 8-bit RGB.
func ToImage(data []float32, size, channels int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	q := func(v float32) uint8 {
		f := (v + 1) * 127.5
		return uint8(min(max(f+0.5, 0), 255))
	}
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			p := (py*size + px) * channels
			img.SetNRGBA(px, py, color.NRGBA{q(data[p]), q(data[p+1]), q(data[p+2]), 255})
		}
	}
	return img
}
