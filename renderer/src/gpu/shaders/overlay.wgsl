// Overlays: one instance per quad of renderer/src/overlay.rs, blended
// source-over by the pipeline; the gradient is fixed::gradient in u32.

struct Quad {
    @location(0) rect: vec4<u32>,
    @location(1) bottom: u32,
    @location(2) top: u32,
    @location(3) grad: vec2<u32>,
};

struct VOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) bottom: u32,
    @location(1) @interpolate(flat) top: u32,
    @location(2) @interpolate(flat) grad: vec2<u32>,
};

@vertex
fn vs(@builtin(vertex_index) vi: u32, q: Quad) -> VOut {
    // Two triangles: corners (0,0) (1,0) (0,1) (0,1) (1,0) (1,1).
    let right = ((0x32u >> vi) & 1u) == 1u;
    let down = ((0x2cu >> vi) & 1u) == 1u;
    let x = select(q.rect.x, q.rect.z, right);
    let y = select(q.rect.y, q.rect.w, down);
    var out: VOut;
    out.pos = vec4<f32>(
        f32(x) / f32(P.width) * 2.0 - 1.0,
        1.0 - f32(y) / f32(P.height) * 2.0,
        0.0,
        1.0,
    );
    out.bottom = q.bottom;
    out.top = q.top;
    out.grad = q.grad;
    return out;
}

@fragment
fn fs(v: VOut) -> @location(0) vec4<f32> {
    let y = u32(v.pos.y);
    let g0 = v.grad.x;
    let g1 = v.grad.y;
    let b = unpack(v.bottom);
    if (g1 <= g0 + 1u) {
        return emit(b);
    }
    let n = g1 - g0 - 1u;
    let k = min(g1 - 1u - min(y, g1 - 1u), n);
    let t = unpack(v.top);
    return emit((b * (n - k) + t * k + vec4<u32>(n / 2u)) / vec4<u32>(n));
}
