// Shared by every module (prepended by gpu/pipelines.rs): the uniform block
// and the integer helpers of renderer/src/fixed.rs, restated in u32.

struct Params {
    width: u32,
    height: u32,
    kind: u32,
    progress: u32,
    ox: u32,
    oy: u32,
    step: u32,
    background: u32,
    cols: u32,
    rows: u32,
    pad0: u32,
    pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;

const ONE: u32 = 65536u;
const FLIP_SPAN: u32 = 16384u;

fn unpack(c: u32) -> vec4<u32> {
    return vec4<u32>(c & 255u, (c >> 8u) & 255u, (c >> 16u) & 255u, c >> 24u);
}

fn emit(c: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(c) / 255.0;
}

// fixed::ViewportMap::map
fn vmap(origin: u32, step: u32, i: u32, len: u32) -> u32 {
    return min((origin + i * step + step / 2u) >> 16u, len - 1u);
}
