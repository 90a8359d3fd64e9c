// Group B: compositing only. A textured blit through the viewport; a
// transition is a cut at its midpoint. No transition code lives here, so a
// broken transition shader cannot take this path down with it.

@group(0) @binding(1) var from_tex: texture_2d<f32>;
@group(0) @binding(2) var to_tex: texture_2d<f32>;

const NO_TRANSITION: u32 = 0xffffffffu;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let x = f32((i & 1u) << 2u) - 1.0;
    let y = f32((i & 2u) << 1u) - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let xy = vec2<i32>(
        i32(vmap(P.ox, P.step, u32(pos.x), P.width)),
        i32(vmap(P.oy, P.step, u32(pos.y), P.height)),
    );
    if (P.kind != NO_TRANSITION && P.progress < 32768u) {
        return textureLoad(from_tex, xy, 0);
    }
    return textureLoad(to_tex, xy, 0);
}
