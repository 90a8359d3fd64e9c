// Group A: the transition shaders. Every entry point restates one function
// of renderer/src/cpu/compose.rs with the integer helpers of fixed.rs, so the
// output equals the CPU path's to the bit.

@group(0) @binding(1) var from_tex: texture_2d<f32>;
@group(0) @binding(2) var to_tex: texture_2d<f32>;
@group(0) @binding(3) var dissolve_tex: texture_2d<u32>;
@group(0) @binding(4) var starts_tex: texture_2d<u32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let x = f32((i & 1u) << 2u) - 1.0;
    let y = f32((i & 2u) << 1u) - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn px(t: texture_2d<f32>, x: u32, y: u32) -> vec4<u32> {
    let v = textureLoad(t, vec2<i32>(i32(x), i32(y)), 0);
    return vec4<u32>(round(clamp(v, vec4<f32>(0.0), vec4<f32>(1.0)) * 255.0));
}

fn pick(to: bool, x: u32, y: u32) -> vec4<u32> {
    if (to) {
        return px(to_tex, x, y);
    }
    return px(from_tex, x, y);
}

fn travel(p: u32, len: u32) -> u32 {
    return (min(p, ONE) * len + 32768u) >> 16u;
}

fn block_of(x: u32, len: u32, count: u32) -> u32 {
    return ((x + 1u) * count - 1u) / len;
}

fn block_start(i: u32, len: u32, count: u32) -> u32 {
    return i * len / count;
}

fn centred(len: u32, visible: u32) -> u32 {
    return (len - visible) / 2u;
}

fn squeeze(i: u32, len: u32, visible: u32) -> u32 {
    return i * len / visible;
}

fn blockflip(p: u32, x: u32, y: u32) -> vec4<u32> {
    let w = P.width;
    let bx = block_of(x, w, P.cols);
    let by = block_of(y, P.height, P.rows);
    let x0 = block_start(bx, w, P.cols);
    let bw = block_start(bx + 1u, w, P.cols) - x0;
    let start = textureLoad(starts_tex, vec2<i32>(i32(bx), i32(by)), 0).r;
    let q = min(p - min(p, start), FLIP_SPAN);
    let q16 = q * (ONE / FLIP_SPAN);
    var to = false;
    var f = 0u;
    if (q16 < 32768u) {
        f = (32768u - q16) * 2u;
    } else {
        to = true;
        f = (q16 - 32768u) * 2u;
    }
    let vis = (bw * f + 32768u) >> 16u;
    let lo = centred(bw, vis);
    let k = x - x0;
    if (k < lo || k >= lo + vis) {
        return unpack(P.background);
    }
    return pick(to, x0 + squeeze(k - lo, bw, vis), y);
}

fn zoom(p: u32, x: u32, y: u32) -> vec4<u32> {
    let w = P.width;
    let h = P.height;
    let zw = travel(p, w);
    let zh = travel(p, h);
    let x0 = centred(w, zw);
    let y0 = centred(h, zh);
    if (zw == 0u || zh == 0u || x < x0 || x >= x0 + zw || y < y0 || y >= y0 + zh) {
        return px(from_tex, x, y);
    }
    return px(to_tex, squeeze(x - x0, w, zw), squeeze(y - y0, h, zh));
}

// One entry point per kind, so a software rasteriser (which runs every
// branch of a divergent switch under a mask) only runs the kind it draws.

fn at(pos: vec4<f32>) -> vec2<u32> {
    return vec2<u32>(
        vmap(P.ox, P.step, u32(pos.x), P.width),
        vmap(P.oy, P.step, u32(pos.y), P.height),
    );
}

fn progress() -> u32 {
    return min(P.progress, ONE);
}

@fragment
fn fs_still(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(px(to_tex, c.x, c.y));
}

@fragment
fn fs_crossfade(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    let wt = (progress() * 256u + 32768u) >> 16u;
    let a = px(from_tex, c.x, c.y);
    let b = px(to_tex, c.x, c.y);
    return emit((a * (256u - wt) + b * wt + vec4<u32>(128u)) >> vec4<u32>(8u));
}

@fragment
fn fs_slide_left(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    let w = P.width;
    let off = travel(progress(), w);
    if (c.x + off < w) {
        return emit(px(from_tex, c.x + off, c.y));
    }
    return emit(px(to_tex, c.x + off - w, c.y));
}

@fragment
fn fs_slide_right(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    let w = P.width;
    let off = travel(progress(), w);
    if (c.x >= off) {
        return emit(px(from_tex, c.x - off, c.y));
    }
    return emit(px(to_tex, c.x + w - off, c.y));
}

@fragment
fn fs_slide_up(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    let h = P.height;
    let off = travel(progress(), h);
    if (c.y + off < h) {
        return emit(px(from_tex, c.x, c.y + off));
    }
    return emit(px(to_tex, c.x, c.y + off - h));
}

@fragment
fn fs_slide_down(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    let h = P.height;
    let off = travel(progress(), h);
    if (c.y >= off) {
        return emit(px(from_tex, c.x, c.y - off));
    }
    return emit(px(to_tex, c.x, c.y + h - off));
}

@fragment
fn fs_wipe_left(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(pick(c.x >= P.width - travel(progress(), P.width), c.x, c.y));
}

@fragment
fn fs_wipe_right(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(pick(c.x < travel(progress(), P.width), c.x, c.y));
}

@fragment
fn fs_wipe_up(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(pick(c.y >= P.height - travel(progress(), P.height), c.x, c.y));
}

@fragment
fn fs_wipe_down(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(pick(c.y < travel(progress(), P.height), c.x, c.y));
}

@fragment
fn fs_blockflip(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(blockflip(progress(), c.x, c.y));
}

@fragment
fn fs_dissolve(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    let t = textureLoad(dissolve_tex, vec2<i32>(i32(c.x), i32(c.y)), 0).r;
    return emit(pick(P.progress > t, c.x, c.y));
}

@fragment
fn fs_zoom(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = at(pos);
    return emit(zoom(progress(), c.x, c.y));
}
