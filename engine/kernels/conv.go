package kernels

import (
	"errors"
	"fmt"
	"unsafe"
)

// ConvShape describes a 2-D convolution on NHWC tensors: x [N,H,W,Cin],
// w [K,K,Cin,Cout], b [Cout], y [N,OH,OW,Cout]. The weight layout makes
// w a row-major [K·K·Cin, Cout] matrix whose rows are ordered (ky, kx, ci),
// matching the columns of the im2col matrix.
type ConvShape struct{ N, H, W, Cin, Cout, K, Stride, Pad int }

// OutH is the output height, (H + 2·Pad − K)/Stride + 1.
func (s ConvShape) OutH() int { return (s.H+2*s.Pad-s.K)/s.Stride + 1 }

// OutW is the output width, (W + 2·Pad − K)/Stride + 1.
func (s ConvShape) OutW() int { return (s.W+2*s.Pad-s.K)/s.Stride + 1 }

// Validate reports whether the shape is supported: positive sizes, K in
// {1, 3}, Stride in {1, 2}, Pad in {0, K/2}, and an input at least as
// large as the (padded) kernel.
func (s ConvShape) Validate() error {
	switch {
	case s.N < 1 || s.H < 1 || s.W < 1 || s.Cin < 1 || s.Cout < 1:
		return fmt.Errorf("kernels: conv shape %+v: sizes must be positive", s)
	case s.K != 1 && s.K != 3:
		return fmt.Errorf("kernels: conv shape %+v: kernel size must be 1 or 3", s)
	case s.Stride != 1 && s.Stride != 2:
		return fmt.Errorf("kernels: conv shape %+v: stride must be 1 or 2", s)
	case s.Pad != 0 && s.Pad != s.K/2:
		return fmt.Errorf("kernels: conv shape %+v: pad must be 0 or K/2", s)
	case s.H+2*s.Pad < s.K || s.W+2*s.Pad < s.K:
		return fmt.Errorf("kernels: conv shape %+v: input smaller than the kernel", s)
	}
	return nil
}

// FLOPs is the forward cost, 2·N·OH·OW·Cout·K·K·Cin (multiply-adds ×2,
// bias excluded). The backward pass with dx and dw costs twice that.
func (s ConvShape) FLOPs() float64 {
	return 2 * float64(s.N) * float64(s.OutH()) * float64(s.OutW()) *
		float64(s.Cout) * float64(s.K*s.K) * float64(s.Cin)
}

// Sizes of the tensors, in elements.
func (s ConvShape) xLen() int { return s.N * s.H * s.W * s.Cin }
func (s ConvShape) wLen() int { return s.K * s.K * s.Cin * s.Cout }
func (s ConvShape) yLen() int { return s.N * s.OutH() * s.OutW() * s.Cout }

// rows is the number of output pixels, the M of the convolution's GEMM.
func (s ConvShape) rows() int { return s.N * s.OutH() * s.OutW() }

// colWidth is the width of an im2col row, K·K·Cin.
func (s ConvShape) colWidth() int { return s.K * s.K * s.Cin }

// direct reports whether the convolution is a plain matrix product
// (1×1, stride 1, no padding): x is then already the im2col matrix.
func (s ConvShape) direct() bool { return s.K == 1 && s.Stride == 1 && s.Pad == 0 }

// ConvWorkspace holds scratch buffers reused across calls (grown as
// needed, never shrunk); one per op instance; not safe for concurrent use.
// The zero value is ready to use. Nothing is carried from one call to the
// next: every call rebuilds what it reads, so reusing a workspace across
// shapes is safe.
type ConvWorkspace[T Float] struct {
	col   []T // im2col (or its gradient) for one chunk of output rows
	wflip []T // flipped, transposed weights for dx of stride-1 convolutions
	part  []T // partial sums for db
}

// convGrow returns buf resliced to n elements, reallocating only when its
// capacity is too small. Contents are unspecified.
func convGrow[T Float](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:cap(*buf)]
	return (*buf)[:n]
}

// convColBudgetBytes bounds the im2col chunk so that it stays in the
// last-level cache between the copy that writes it and the GEMM that
// packs it. 4 MiB was the fastest of 1, 2, 4 and 8 MiB at the UNet sizes;
// a full-size im2col (75 MiB at 64 channels, 32×32, batch 32) ran the GEMM
// at about half speed. A variable so tests can force many chunks.
var convColBudgetBytes = 4 << 20

// convChunkRows is how many output image rows (OW pixels each) one
// im2col chunk holds for shape s with element size esize.
func convChunkRows(s ConvShape, esize int) int {
	perRow := s.OutW() * s.colWidth() * esize
	r := convColBudgetBytes / perRow
	return max(1, min(r, s.N*s.OutH()))
}

// convSizeOf is the size of T in bytes.
func convSizeOf[T Float]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// errConvShortBuffer is wrapped by the panics of kernels given a buffer
// shorter than their shape needs.
var errConvShortBuffer = errors.New("kernels: buffer too short for its shape")

// convMustShape panics with s.Validate's error, if any.
func convMustShape(s ConvShape) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
}

// convMustLen returns buf[:n], panicking when buf is shorter than n.
func convMustLen[T Float](buf []T, n int, name string) []T {
	if len(buf) < n {
		panic(fmt.Errorf("%w: %s has %d elements, want %d", errConvShortBuffer, name, len(buf), n))
	}
	return buf[:n]
}

// Conv2D overwrites y with conv(x, w) + b (b may be nil): for every output
// pixel (n, i, j) and channel co,
//
//	y[n,i,j,co] = b[co] + Σ_{ky,kx,ci} x[n, i·S−P+ky, j·S−P+kx, ci]·w[ky,kx,ci,co]
//
// with x read as zero outside the image (cross-correlation, as in every
// deep-learning framework). The shape must pass Validate (it panics
// otherwise); x, w, b and y must hold at least the elements their shapes
// need, and y must not overlap the inputs. ws may be reused across calls
// and shapes but not shared between goroutines.
//
// A 1×1 stride-1 convolution is a single GEMM on x with no copies. Every
// other shape is lowered to im2col: chunks of ~4 MiB of [rows, K·K·Cin]
// patches in ws, each multiplied by w in one GEMM, the bias written into y
// by the same pass that builds the chunk (the GEMM then accumulates with
// beta = 1). Steady-state calls do not allocate.
func Conv2D[T Float](s ConvShape, x, w, b, y []T, ws *ConvWorkspace[T]) {
	convMustShape(s)
	x = convMustLen(x, s.xLen(), "x")
	w = convMustLen(w, s.wLen(), "w")
	y = convMustLen(y, s.yLen(), "y")
	if b != nil {
		b = convMustLen(b, s.Cout, "b")
	}
	convForward(s, x, w, b, y, ws)
}

// convForward is Conv2D without the checks; it also accepts the padding
// K−1−Pad (up to 2) that the stride-1 input gradient needs.
//
// The copies run on the calling goroutine: OpenBLAS's worker threads spin
// for a while after each GEMM, and splitting the copies over goroutines
// (Parallel) measured no faster on 2 cores, often slower.
func convForward[T Float](s ConvShape, x, w, b, y []T, ws *ConvWorkspace[T]) {
	m, cout := s.rows(), s.Cout
	beta := T(0)
	if b != nil {
		beta = 1
	}
	if s.direct() {
		if b != nil {
			convFillRows(y, b, m)
		}
		Gemm(false, false, m, cout, s.Cin, 1, x, s.Cin, w, cout, beta, y, cout)
		return
	}
	kk, ow, g := s.colWidth(), s.OutW(), s.N*s.OutH()
	step := convChunkRows(s, convSizeOf[T]())
	col := convGrow(&ws.col, step*ow*kk)
	for g0 := 0; g0 < g; g0 += step {
		g1 := min(g0+step, g)
		r0, mc := g0*ow, (g1-g0)*ow
		yc := y[r0*cout : (r0+mc)*cout]
		convIm2col(s, x, col, g0, g1)
		if b != nil {
			convFillRows(yc, b, mc)
		}
		Gemm(false, false, mc, cout, kk, 1, col[:mc*kk], kk, w, cout, beta, yc, cout)
	}
}

// Conv2DBackward overwrites dx, dw, db (each may be nil to skip) with the
// gradients of Σ y·dy with respect to x, w and b, where y = Conv2D(s, x,
// w, b). x is read only for dw and w only for dx (either may be nil when
// not needed); dy is read-only. The outputs must not overlap the inputs.
//
//   - db is the column sum of dy, blocked per chunk for accuracy and
//     computed in the dw pass while the dy chunk is in cache.
//   - dw = colᵀ·dy, one large-K GEMM per im2col chunk (accumulating); for
//     1×1 stride 1 a single xᵀ·dy.
//   - dx for stride 1 is the convolution of dy, padded by K−1−Pad, with
//     the kernel rotated by 180° and its channel axes swapped, so it
//     reuses the forward im2col path (one large-K GEMM per chunk, no
//     scatter); for 1×1 a single dy·wᵀ. For stride 2 it is dcol = dy·wᵀ
//     per chunk scattered back with col2im.
func Conv2DBackward[T Float](s ConvShape, x, w, dy, dx, dw, db []T, ws *ConvWorkspace[T]) {
	convMustShape(s)
	dy = convMustLen(dy, s.yLen(), "dy")
	if db != nil {
		db = convMustLen(db, s.Cout, "db")
	}
	if dw != nil {
		convWeightGrad(s, convMustLen(x, s.xLen(), "x"), dy, convMustLen(dw, s.wLen(), "dw"), db, ws)
	} else if db != nil {
		clear(db)
		convAccumRows(dy, s.Cout, db, ws)
	}
	if dx != nil {
		convInputGrad(s, convMustLen(w, s.wLen(), "w"), dy, convMustLen(dx, s.xLen(), "dx"), ws)
	}
}

// convWeightGrad sets dw = colᵀ·dy, im2col chunk by chunk, and db (when
// not nil) to the column sums of dy.
func convWeightGrad[T Float](s ConvShape, x, dy, dw, db []T, ws *ConvWorkspace[T]) {
	m, cout := s.rows(), s.Cout
	if db != nil {
		clear(db)
	}
	if s.direct() {
		if db != nil {
			convAccumRows(dy, cout, db, ws)
		}
		Gemm(true, false, s.Cin, cout, m, 1, x, s.Cin, dy, cout, 0, dw, cout)
		return
	}
	kk, ow, g := s.colWidth(), s.OutW(), s.N*s.OutH()
	step := convChunkRows(s, convSizeOf[T]())
	col := convGrow(&ws.col, step*ow*kk)
	beta := T(0)
	for g0 := 0; g0 < g; g0 += step {
		g1 := min(g0+step, g)
		r0, mc := g0*ow, (g1-g0)*ow
		dyc := dy[r0*cout : (r0+mc)*cout]
		convIm2col(s, x, col, g0, g1)
		if db != nil {
			convAccumRows(dyc, cout, db, ws)
		}
		Gemm(true, false, kk, cout, mc, 1, col[:mc*kk], kk, dyc, cout, beta, dw, cout)
		beta = 1
	}
}

// convInputGrad sets dx (see Conv2DBackward for the algorithms).
func convInputGrad[T Float](s ConvShape, w, dy, dx []T, ws *ConvWorkspace[T]) {
	m, cout, cin := s.rows(), s.Cout, s.Cin
	if s.direct() {
		Gemm(false, true, m, cin, cout, 1, dy, cout, w, cout, 0, dx, cin)
		return
	}
	k := s.K
	if s.Stride == 1 {
		// wf[ky,kx,co,ci] = w[K−1−ky, K−1−kx, ci, co].
		wf := convGrow(&ws.wflip, s.wLen())
		for t := 0; t < k*k; t++ {
			src := w[(k*k-1-t)*cin*cout : (k*k-t)*cin*cout]
			dst := wf[t*cout*cin : (t+1)*cout*cin]
			for ci := 0; ci < cin; ci++ {
				row := src[ci*cout : (ci+1)*cout]
				for co, v := range row {
					dst[co*cin+ci] = v
				}
			}
		}
		t := ConvShape{N: s.N, H: s.OutH(), W: s.OutW(), Cin: cout, Cout: cin, K: k, Stride: 1, Pad: k - 1 - s.Pad}
		convForward(t, dy, wf, nil, dx, ws)
		return
	}
	kk, ow, g := s.colWidth(), s.OutW(), s.N*s.OutH()
	clear(dx)
	step := convChunkRows(s, convSizeOf[T]())
	col := convGrow(&ws.col, step*ow*kk)
	for g0 := 0; g0 < g; g0 += step {
		g1 := min(g0+step, g)
		r0, mc := g0*ow, (g1-g0)*ow
		Gemm(false, true, mc, kk, cout, 1, dy[r0*cout:(r0+mc)*cout], cout, w, cout, 0, col[:mc*kk], kk)
		convCol2im(s, col, dx, g0, g1)
	}
}

// convIm2col writes the im2col rows of output image rows [g0, g1) (g =
// n·OH + oh) into col, OW rows of K·K·Cin each ordered (ky, kx, ci), zero
// where the kernel overhangs the padded border. The K taps of one kernel
// row are adjacent input pixels, so each is one copy of up to K·Cin.
func convIm2col[T Float](s ConvShape, x, col []T, g0, g1 int) {
	k, c, st, pad := s.K, s.Cin, s.Stride, s.Pad
	oh, ow, kk, kc := s.OutH(), s.OutW(), s.colWidth(), s.K*s.Cin
	img := s.H * s.W * c
	for g := g0; g < g1; g++ {
		n, i := g/oh, g%oh
		xn := x[n*img : (n+1)*img]
		rows := col[(g-g0)*ow*kk : (g-g0+1)*ow*kk]
		for j := 0; j < ow; j++ {
			dst := rows[j*kk : (j+1)*kk]
			iw0 := j*st - pad
			kx0, kx1 := max(0, -iw0), min(k, s.W-iw0)
			for ky := 0; ky < k; ky++ {
				seg := dst[ky*kc : (ky+1)*kc]
				ih := i*st - pad + ky
				if ih < 0 || ih >= s.H || kx0 >= kx1 {
					clear(seg)
					continue
				}
				clear(seg[:kx0*c])
				base := (ih*s.W + iw0) * c
				copy(seg[kx0*c:kx1*c], xn[base+kx0*c:base+kx1*c])
				clear(seg[kx1*c:])
			}
		}
	}
}

// convCol2im adds the im2col-shaped gradient col of output image rows
// [g0, g1) into dx, the adjoint of im2col.
func convCol2im[T Float](s ConvShape, col, dx []T, g0, g1 int) {
	k, c, st, pad := s.K, s.Cin, s.Stride, s.Pad
	oh, ow, kk, kc := s.OutH(), s.OutW(), s.colWidth(), s.K*s.Cin
	img := s.H * s.W * c
	for g := g0; g < g1; g++ {
		n, i := g/oh, g%oh
		dxn := dx[n*img : (n+1)*img]
		rows := col[(g-g0)*ow*kk : (g-g0+1)*ow*kk]
		for j := 0; j < ow; j++ {
			src := rows[j*kk : (j+1)*kk]
			iw0 := j*st - pad
			kx0, kx1 := max(0, -iw0), min(k, s.W-iw0)
			if kx0 >= kx1 {
				continue
			}
			for ky := 0; ky < k; ky++ {
				ih := i*st - pad + ky
				if ih < 0 || ih >= s.H {
					continue
				}
				seg := src[ky*kc+kx0*c : ky*kc+kx1*c]
				at := (ih*s.W+iw0)*c + kx0*c
				convAddTo(dxn[at:at+len(seg)], seg)
			}
		}
	}
}

// convAddTo sets dst[i] += src[i] for i < len(src).
func convAddTo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		s, d := src[i:i+4:i+4], dst[i:i+4:i+4]
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
	}
	for ; i < len(src); i++ {
		dst[i] += src[i]
	}
}

// convFillRows sets each of the first rows rows of y (width len(b)) to b.
func convFillRows[T Float](y, b []T, rows int) {
	c := len(b)
	for r := 0; r < rows; r++ {
		copy(y[r*c:(r+1)*c], b)
	}
}

// convSumBlockRows is the block length of convAccumRows: rows are summed
// within a block, then the block sums added to the output, which keeps
// float32 rounding error near that of a 256-term plus an M/256-term sum.
const convSumBlockRows = 256

// convAccumRows adds the column sums of a (rows of width c) to out.
func convAccumRows[T Float](a []T, c int, out []T, ws *ConvWorkspace[T]) {
	part := convGrow(&ws.part, c)
	m := len(a) / c
	for r0 := 0; r0 < m; r0 += convSumBlockRows {
		r1 := min(r0+convSumBlockRows, m)
		copy(part, a[r0*c:(r0+1)*c])
		for r := r0 + 1; r < r1; r++ {
			convAddTo(part, a[r*c:(r+1)*c])
		}
		convAddTo(out, part)
	}
}
