// Single-precision matrix product for the cuda build of the engine:
// C = alpha·op(A)·op(B) + beta·C on row-major matrices, op(X) = X or Xᵀ,
// op(A) m×k, op(B) k×n, C m×n, with row strides lda, ldb, ldc.
//
// Compiled to PTX (sgemm.ptx, committed; `go generate` in engine/kernels
// remakes it with nvcc) and loaded by the driver, which translates it for
// the card it runs on.
//
// Each block of 256 threads computes a 64×64 tile of C, stepping through k
// 16 at a time: the tiles of op(A) and op(B) are staged in shared memory,
// read from global memory along whichever direction is contiguous (so the
// transposed and plain cases both coalesce), and each thread accumulates a
// 4×4 patch of C in registers (rows ty+16r, columns tx+16c).
//
// Sizes and strides are 64-bit so that the Go side can pass every
// argument as one 8-byte slot.

#define BM 64
#define BN 64
#define BK 16

extern "C" __global__ void __launch_bounds__(256)
sgemm_rowmajor(long long transA, long long transB, long long m, long long n, long long k,
               float alpha, const float *__restrict__ a, long long lda,
               const float *__restrict__ b, long long ldb,
               float beta, float *__restrict__ c, long long ldc)
{
    __shared__ float As[BK][BM + 1];
    __shared__ float Bs[BK][BN + 1];
    const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4, tid = threadIdx.x;
    const long long i0 = (long long)blockIdx.y * BM, j0 = (long long)blockIdx.x * BN;
    float acc[4][4];
#pragma unroll
    for (int r = 0; r < 4; r++)
#pragma unroll
        for (int q = 0; q < 4; q++)
            acc[r][q] = 0.f;

    for (long long p0 = 0; p0 < k; p0 += BK) {
#pragma unroll
        for (int l = 0; l < 4; l++) {
            const int idx = tid + 256 * l;
            int pk, ii;
            if (transA) { ii = idx & (BM - 1); pk = idx / BM; }
            else        { pk = idx & (BK - 1); ii = idx / BK; }
            const long long i = i0 + ii, p = p0 + pk;
            float v = 0.f;
            if (i < m && p < k)
                v = transA ? a[p * lda + i] : a[i * lda + p];
            As[pk][ii] = v;
        }
#pragma unroll
        for (int l = 0; l < 4; l++) {
            const int idx = tid + 256 * l;
            int pk, jj;
            if (transB) { pk = idx & (BK - 1); jj = idx / BK; }
            else        { jj = idx & (BN - 1); pk = idx / BN; }
            const long long j = j0 + jj, p = p0 + pk;
            float v = 0.f;
            if (j < n && p < k)
                v = transB ? b[j * ldb + p] : b[p * ldb + j];
            Bs[pk][jj] = v;
        }
        __syncthreads();
#pragma unroll
        for (int pk = 0; pk < BK; pk++) {
            float av[4], bv[4];
#pragma unroll
            for (int r = 0; r < 4; r++) av[r] = As[pk][ty + 16 * r];
#pragma unroll
            for (int q = 0; q < 4; q++) bv[q] = Bs[pk][tx + 16 * q];
#pragma unroll
            for (int r = 0; r < 4; r++)
#pragma unroll
                for (int q = 0; q < 4; q++)
                    acc[r][q] = fmaf(av[r], bv[q], acc[r][q]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 4; r++) {
        const long long i = i0 + ty + 16 * r;
        if (i >= m) continue;
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const long long j = j0 + tx + 16 * q;
            if (j >= n) continue;
            float *o = &c[i * ldc + j];
            *o = beta == 0.f ? alpha * acc[r][q] : alpha * acc[r][q] + beta * *o;
        }
    }
}
