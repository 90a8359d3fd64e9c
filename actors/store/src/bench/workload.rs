//! The bench's workload: each writer owns one layer (`w{i}`), one dims view
//! and one camera view (`view-{i}`), seeded up front, and cycles through
//! updates that each change exactly one record, so every ack names the one
//! record that must survive.

use serde_json::{Value, json};

use crate::topic::Topic;

/// Steps on each dims axis of a bench view.
pub(crate) const STEPS: u64 = 1000;
/// Axes of a bench view.
const NDIM: usize = 3;

/// The seeds that give `writers` writers their targets, per topic.
pub(crate) fn seeds(writers: usize) -> [(Topic, Value); 3] {
    let mut layers = serde_json::Map::new();
    let mut dims = serde_json::Map::new();
    let mut camera = serde_json::Map::new();
    let order: Vec<Value> = (0..writers).map(|i| Value::from(layer(i))).collect();
    layers.insert("*".into(), json!({ "order": order }));
    let range = json!([0.0, (STEPS - 1) as f64, 1.0]);
    for i in 0..writers {
        layers.insert(
            layer(i),
            json!({"name": layer(i), "visible": true, "opacity": 1.0}),
        );
        dims.insert(
            view(i),
            json!({"ndim": NDIM, "range": vec![range.clone(); NDIM], "current_step": vec![0; NDIM]}),
        );
        camera.insert(view(i), json!({"center": [0.0, 0.0], "zoom": 1.0}));
    }
    [
        (Topic::Layers, Value::Object(layers)),
        (Topic::Dims, Value::Object(dims)),
        (Topic::Camera, Value::Object(camera)),
    ]
}

fn layer(i: usize) -> String {
    format!("w{i}")
}

fn view(i: usize) -> String {
    format!("view-{i}")
}

/// One update and the record it changes.
pub(crate) struct Update {
    pub(crate) topic: Topic,
    pub(crate) payload: std::sync::Arc<Value>,
    pub(crate) target: String,
    pub(crate) key: &'static str,
    /// The value the record holds once the update is applied.
    pub(crate) value: Value,
}

/// The updates of one writer, in order.
pub(crate) struct Writer {
    index: usize,
    step: u64,
    current_step: [u64; NDIM],
}

impl Writer {
    pub(crate) fn new(index: usize) -> Self {
        Self {
            index,
            step: 0,
            current_step: [0; NDIM],
        }
    }

    /// The next update.
    pub(crate) fn next_update(&mut self) -> Update {
        let k = self.step;
        self.step += 1;
        let (layer, view) = (layer(self.index), view(self.index));
        let (topic, payload, target, key, value) = match k % 6 {
            0 => {
                let opacity = (k % 1001) as f64 / 1000.0;
                let payload = json!({"op": "set", "id": layer, "opacity": opacity});
                (
                    Topic::Layers,
                    payload,
                    layer,
                    "opacity",
                    Value::from(opacity),
                )
            }
            1 => {
                let axis = ((k / 6) % NDIM as u64) as usize;
                self.current_step[axis] = (k / 6) % STEPS;
                let payload = json!({"op": "current_step", "target": view, "axis": axis, "value": self.current_step[axis]});
                (
                    Topic::Dims,
                    payload,
                    view,
                    "current_step",
                    json!(self.current_step),
                )
            }
            2 => {
                let zoom = 1.0 + k as f64 / 1000.0;
                let payload = json!({"op": "set", "target": view, "zoom": zoom});
                (Topic::Camera, payload, view, "zoom", Value::from(zoom))
            }
            3 => {
                let visible = (k / 6) % 2 == 1;
                let payload = json!({"op": "set", "id": layer, "visible": visible});
                (
                    Topic::Layers,
                    payload,
                    layer,
                    "visible",
                    Value::Bool(visible),
                )
            }
            4 => {
                let center = [k as f64, -(k as f64)];
                let payload = json!({"op": "set", "target": view, "center": center});
                (Topic::Camera, payload, view, "center", json!(center))
            }
            _ => {
                let angles = [(k % 360) as f64, 0.0, 90.0];
                let payload = json!({"op": "set", "target": view, "angles": angles});
                (Topic::Camera, payload, view, "angles", json!(angles))
            }
        };
        Update {
            topic,
            payload: std::sync::Arc::new(payload),
            target,
            key,
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryLimits;
    use crate::record::Author;
    use crate::scene::Scene;

    #[test]
    fn every_update_changes_exactly_the_record_it_names() -> Result<(), Box<dyn std::error::Error>>
    {
        let mut scene = Scene::new(HistoryLimits::default());
        for (n, (topic, seed)) in seeds(2).into_iter().enumerate() {
            scene.seed_snapshot(topic, seed, n as u64 + 1, 0)?;
        }
        let author = Author::new("bench-1", "bench");
        let mut writer = Writer::new(1);
        for _ in 0..60 {
            let update = writer.next_update();
            let entry =
                scene.apply_delta(update.topic, update.payload, scene.version(), &author, 0)?;
            assert_eq!(entry.changes.len(), 1);
            assert_eq!(entry.changes[0].target, update.target);
            assert_eq!(entry.changes[0].key, update.key);
            assert_eq!(entry.changes[0].new.as_ref(), Some(&update.value));
        }
        Ok(())
    }
}
