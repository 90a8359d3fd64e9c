// Group A: the transition shader. Every branch restates one function of
// renderer/src/cpu/compose.rs with the integer helpers of fixed.rs, so the
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

fn transition(x: u32, y: u32) -> vec4<u32> {
    let w = P.width;
    let h = P.height;
    let p = min(P.progress, ONE);
    switch P.kind {
        case 0u: {
            let wt = (p * 256u + 32768u) >> 16u;
            let a = px(from_tex, x, y);
            let b = px(to_tex, x, y);
            return (a * (256u - wt) + b * wt + vec4<u32>(128u)) >> vec4<u32>(8u);
        }
        case 1u: {
            let off = travel(p, w);
            if (x + off < w) {
                return px(from_tex, x + off, y);
            }
            return px(to_tex, x + off - w, y);
        }
        case 2u: {
            let off = travel(p, w);
            if (x >= off) {
                return px(from_tex, x - off, y);
            }
            return px(to_tex, x + w - off, y);
        }
        case 3u: {
            let off = travel(p, h);
            if (y + off < h) {
                return px(from_tex, x, y + off);
            }
            return px(to_tex, x, y + off - h);
        }
        case 4u: {
            let off = travel(p, h);
            if (y >= off) {
                return px(from_tex, x, y - off);
            }
            return px(to_tex, x, y + h - off);
        }
        case 5u: {
            return pick(x >= w - travel(p, w), x, y);
        }
        case 6u: {
            return pick(x < travel(p, w), x, y);
        }
        case 7u: {
            return pick(y >= h - travel(p, h), x, y);
        }
        case 8u: {
            return pick(y < travel(p, h), x, y);
        }
        case 9u: {
            return blockflip(p, x, y);
        }
        case 10u: {
            let t = textureLoad(dissolve_tex, vec2<i32>(i32(x), i32(y)), 0).r;
            return pick(P.progress > t, x, y);
        }
        case 11u: {
            return zoom(p, x, y);
        }
        default: {
            return px(to_tex, x, y);
        }
    }
}

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let x = vmap(P.ox, P.step, u32(pos.x), P.width);
    let y = vmap(P.oy, P.step, u32(pos.y), P.height);
    return emit(transition(x, y));
}
