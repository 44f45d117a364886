package kernels

// The resampling kernels are plain copies on the calling goroutine. Split
// over 2 cores with Parallel they ran up to 1.5× faster in isolation, but
// no faster right after a GEMM (OpenBLAS's worker threads keep spinning
// for a while after each call, which is how these run inside the UNet),
// and Parallel allocates its closures on every call; one goroutine keeps
// these allocation-free.

// Upsample2x overwrites y [n, 2h, 2w, c] with the nearest-neighbour ×2
// upsampling of x [n, h, w, c]: y[n, 2i+a, 2j+b, :] = x[n, i, j, :] for
// a, b in {0, 1}. y must not overlap x.
func Upsample2x[T Float](n, h, w, c int, x, y []T) {
	x = convMustLen(x, n*h*w*c, "x")
	y = convMustLen(y, n*4*h*w*c, "y")
	in, out := w*c, 4*w*c // one input row; the two output rows it fills
	for r := 0; r < n*h; r++ {
		src := x[r*in : (r+1)*in]
		dst := y[r*out : (r+1)*out]
		for j := 0; j < w; j++ {
			px := src[j*c : (j+1)*c]
			copy(dst[2*j*c:(2*j+1)*c], px)
			copy(dst[(2*j+1)*c:(2*j+2)*c], px)
		}
		copy(dst[out/2:], dst[:out/2])
	}
}

// Upsample2xBackward overwrites dx [n, h, w, c] with the gradient of
// Upsample2x: each input pixel gets the sum of its 4 children in dy
// [n, 2h, 2w, c]. dx must not overlap dy.
func Upsample2xBackward[T Float](n, h, w, c int, dy, dx []T) {
	dy = convMustLen(dy, n*4*h*w*c, "dy")
	dx = convMustLen(dx, n*h*w*c, "dx")
	in, out := w*c, 4*w*c
	for r := 0; r < n*h; r++ {
		dst := dx[r*in : (r+1)*in]
		top := dy[r*out : r*out+out/2]
		bot := dy[r*out+out/2 : (r+1)*out]
		for j := 0; j < w; j++ {
			d := dst[j*c : (j+1)*c]
			t0, t1 := top[2*j*c:(2*j+1)*c], top[(2*j+1)*c:(2*j+2)*c]
			b0, b1 := bot[2*j*c:(2*j+1)*c], bot[(2*j+1)*c:(2*j+2)*c]
			t0, t1, b0, b1 = t0[:len(d)], t1[:len(d)], b0[:len(d)], b1[:len(d)]
			for i := range d {
				d[i] = (t0[i] + t1[i]) + (b0[i] + b1[i])
			}
		}
	}
}

// ConcatChannels overwrites y [rows, ca+cb] with a [rows, ca] and b
// [rows, cb] side by side: y[r, :] = [a[r, :ca], b[r, :cb]]. On NHWC
// tensors rows is N·H·W and this concatenates along channels.
func ConcatChannels[T Float](rows, ca, cb int, a, b, y []T) {
	a = convMustLen(a, rows*ca, "a")
	b = convMustLen(b, rows*cb, "b")
	y = convMustLen(y, rows*(ca+cb), "y")
	c := ca + cb
	for r := 0; r < rows; r++ {
		copy(y[r*c:r*c+ca], a[r*ca:(r+1)*ca])
		copy(y[r*c+ca:(r+1)*c], b[r*cb:(r+1)*cb])
	}
}

// ConcatChannelsBackward splits dy [rows, ca+cb] into da [rows, ca] and
// db [rows, cb], overwriting them; either may be nil to skip it.
func ConcatChannelsBackward[T Float](rows, ca, cb int, dy, da, db []T) {
	dy = convMustLen(dy, rows*(ca+cb), "dy")
	if da != nil {
		da = convMustLen(da, rows*ca, "da")
	}
	if db != nil {
		db = convMustLen(db, rows*cb, "db")
	}
	c := ca + cb
	for r := 0; r < rows; r++ {
		if da != nil {
			copy(da[r*ca:(r+1)*ca], dy[r*c:r*c+ca])
		}
		if db != nil {
			copy(db[r*cb:(r+1)*cb], dy[r*c+ca:(r+1)*c])
		}
	}
}
