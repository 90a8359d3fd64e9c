//! The scene as the store says it is: the records of the `layers`,
//! `camera` and `dims` topics (from a snapshot, then `store.notify`
//! changes), and what they mean for the renderer — each layer's visibility,
//! opacity and place in the stack, the viewport of the camera `main`, and
//! the slideshow's position (the `dims` view `slideshow`, axis 0). Layers
//! the store does not name keep their defaults; values out of range are
//! clamped.

use std::collections::BTreeMap;

use serde_json::Value;
use warden_renderer::{LayerKind, LayerProps, Viewport};

/// The store's layer id of each renderer layer.
pub const LAYER_IDS: [(&str, LayerKind); 4] = [
    ("slideshow", LayerKind::Slideshow),
    ("bars", LayerKind::Bars),
    ("camera", LayerKind::Camera),
    ("boxes", LayerKind::Boxes),
];

/// The camera record the viewport follows.
pub const CAMERA: &str = "main";

/// The `dims` view whose axis 0 is the slideshow's image.
pub const SLIDESHOW: &str = "slideshow";

type Records = BTreeMap<String, BTreeMap<String, Value>>;

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SceneState {
    layers: Records,
    camera: Records,
    dims: Records,
    /// The store version everything here is current at.
    pub version: u64,
}

impl SceneState {
    fn topic(&mut self, topic: &str) -> Option<&mut Records> {
        match topic {
            "layers" => Some(&mut self.layers),
            "camera" => Some(&mut self.camera),
            "dims" => Some(&mut self.dims),
            _ => None,
        }
    }

    /// Replace `topic` with a snapshot's records (`{target: {key: value}}`).
    pub fn snapshot(
        &mut self,
        topic: &str,
        records_json: &str,
        version: u64,
    ) -> Result<(), String> {
        let records: Records = serde_json::from_str(records_json)
            .map_err(|err| format!("a {topic} snapshot is not records: {err}"))?;
        if let Some(slot) = self.topic(topic) {
            *slot = records;
        }
        self.version = self.version.max(version);
        Ok(())
    }

    /// Apply one changed record (`None`: removed).
    pub fn change(
        &mut self,
        topic: &str,
        target: &str,
        key: &str,
        value_json: Option<&str>,
        version: u64,
    ) {
        let value = value_json.and_then(|json| serde_json::from_str::<Value>(json).ok());
        if let Some(records) = self.topic(topic) {
            match value {
                Some(value) => {
                    records
                        .entry(target.to_string())
                        .or_default()
                        .insert(key.to_string(), value);
                }
                None => {
                    if let Some(keys) = records.get_mut(target) {
                        keys.remove(key);
                        if keys.is_empty() {
                            records.remove(target);
                        }
                    }
                }
            }
        }
        self.version = self.version.max(version);
    }

    /// The props of layer `kind`, starting from its `default`.
    pub fn props(&self, kind: LayerKind, default: LayerProps) -> LayerProps {
        let Some((id, _)) = LAYER_IDS.iter().find(|(_, k)| *k == kind) else {
            return default;
        };
        let mut props = default;
        if let Some(keys) = self.layers.get(*id) {
            if let Some(visible) = keys.get("visible").and_then(Value::as_bool) {
                props.visible = visible;
            }
            if let Some(opacity) = keys.get("opacity").and_then(Value::as_f64) {
                props.opacity = if opacity.is_finite() {
                    opacity.clamp(0.0, 1.0) as f32
                } else {
                    props.opacity
                };
            }
        }
        // The stack: the order record's position (layers it does not list
        // go above, in their default order).
        if let Some(order) = self
            .layers
            .get("*")
            .and_then(|keys| keys.get("order"))
            .and_then(Value::as_array)
            && let Some(at) = order.iter().position(|v| v.as_str() == Some(id))
        {
            props.order = at as i32;
        } else if self.layers.contains_key("*") {
            props.order += 1000;
        }
        props
    }

    /// The slideshow's image as the scene says (`dims` view `slideshow`,
    /// axis 0), if it says.
    pub fn slide_step(&self) -> Option<u64> {
        self.dims
            .get(SLIDESHOW)?
            .get("current_step")?
            .as_array()?
            .first()?
            .as_u64()
    }

    /// The viewport the camera `main` asks for.
    pub fn viewport(&self) -> Viewport {
        let mut viewport = Viewport::default();
        let Some(keys) = self.camera.get(CAMERA) else {
            return viewport;
        };
        if let Some(zoom) = keys
            .get("zoom")
            .and_then(Value::as_f64)
            .filter(|z| z.is_finite())
        {
            viewport.zoom = (zoom as f32).clamp(1.0, Viewport::MAX_ZOOM);
        }
        if let Some(center) = keys.get("center").and_then(Value::as_array) {
            let at = |i: usize| {
                center
                    .get(i)
                    .and_then(Value::as_f64)
                    .filter(|v| v.is_finite())
            };
            if let (Some(x), Some(y)) = (at(0), at(1)) {
                viewport.center = [x.clamp(0.0, 1.0) as f32, y.clamp(0.0, 1.0) as f32];
            }
        }
        viewport
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_records_and_unknown_or_wild_values_are_contained() {
        let mut scene = SceneState::default();
        let default = LayerProps::at(1);
        assert_eq!(
            scene.props(LayerKind::Bars, default),
            default,
            "nothing yet"
        );
        scene
            .snapshot(
                "layers",
                r#"{"*":{"order":["boxes","slideshow","bars"]},"bars":{"visible":false,"opacity":0.5}}"#,
                5,
            )
            .expect("snapshot");
        let bars = scene.props(LayerKind::Bars, default);
        assert!(!bars.visible);
        assert_eq!((bars.opacity, bars.order), (0.5, 2));
        assert_eq!(scene.props(LayerKind::Boxes, LayerProps::at(3)).order, 0);
        assert_eq!(
            scene.props(LayerKind::Camera, LayerProps::at(2)).order,
            1002,
            "not in the order: above"
        );
        scene.change("layers", "bars", "opacity", Some("7.5"), 6);
        scene.change("layers", "bars", "visible", None, 7);
        let bars = scene.props(LayerKind::Bars, default);
        assert!(bars.visible, "a removed record falls back to the default");
        assert_eq!(bars.opacity, 1.0, "clamped");
        assert_eq!(scene.version, 7);
        assert!(scene.snapshot("layers", "[1,2]", 8).is_err());
    }

    #[test]
    fn the_viewport_follows_the_main_camera() {
        let mut scene = SceneState::default();
        assert_eq!(scene.viewport(), Viewport::default());
        scene
            .snapshot(
                "camera",
                r#"{"main":{"zoom":2.0,"center":[0.25,0.75,9]}}"#,
                3,
            )
            .expect("snapshot");
        assert_eq!(scene.viewport().zoom, 2.0);
        assert_eq!(scene.viewport().center, [0.25, 0.75]);
        scene.change("camera", "main", "zoom", Some("100"), 4);
        scene.change("camera", "main", "center", Some("[-1, 2]"), 5);
        assert_eq!(scene.viewport().zoom, Viewport::MAX_ZOOM);
        assert_eq!(scene.viewport().center, [0.0, 1.0]);
        scene.change("camera", "other", "zoom", Some("3"), 6);
        assert_eq!(
            scene.viewport().zoom,
            Viewport::MAX_ZOOM,
            "only main counts"
        );
    }

    #[test]
    fn the_slideshow_step_is_axis_zero_of_its_dims_view() {
        let mut scene = SceneState::default();
        assert_eq!(scene.slide_step(), None);
        scene
            .snapshot("dims", r#"{"slideshow":{"ndim":1,"current_step":[4]}}"#, 9)
            .expect("snapshot");
        assert_eq!(scene.slide_step(), Some(4));
        scene.change("dims", "slideshow", "current_step", Some("[7]"), 10);
        assert_eq!(scene.slide_step(), Some(7));
        scene.change("dims", "slideshow", "current_step", Some("\"x\""), 11);
        assert_eq!(
            scene.slide_step(),
            None,
            "a value it cannot read is no position"
        );
    }
}
