//! The typed builder: one method per layer, each checked at the call (anekit-ir's inference on
//! the MIL ops it emits), each recorded as a [`Layer`] for the summary.

use crate::graph::{ConstData, Graph, Layer, LayerKind, Operand, ShapeError, TensorId};
use anekit_core::DType;

/// A value handle of the graph being built. Copy it freely; its shape is [`GraphBuilder::shape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tensor(pub TensorId);

/// Why a builder call was rejected. Messages name the layer, the op and the shapes.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{layer} `{name}`: {source}")]
    Shape {
        layer: &'static str,
        name: String,
        #[source]
        source: ShapeError,
    },
    #[error("{layer} `{name}`: {reason}")]
    Invalid {
        layer: &'static str,
        name: String,
        reason: String,
    },
    #[error("constant `{name}`: {reason}")]
    Const { name: String, reason: String },
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;

/// Convolution parameters (2-D). `pad` is `[top, bottom, left, right]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    pub stride: [usize; 2],
    pub pad: [usize; 4],
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Default for Conv2d {
    fn default() -> Self {
        Conv2d {
            stride: [1, 1],
            pad: [0; 4],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2d {
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = [s, s];
        self
    }
    pub fn pad(mut self, p: usize) -> Self {
        self.pad = [p; 4];
        self
    }
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = [d, d];
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
}

/// Pooling kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// Elementwise binary ops (numpy broadcasting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Pow,
}

impl Binary {
    pub fn mil(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "real_div",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
            Binary::Pow => "pow",
        }
    }
}

/// Builds a [`Graph`]. Activations and weights are fp16 (the ANE's compute type); the
/// lowering decides the I/O dtype per chip.
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    graph: Graph,
    counter: usize,
    seed: u64,
    /// The layer being built: its parameters are named `{layer}_{param}`.
    current: String,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The compute dtype of builder graphs.
pub const COMPUTE: DType = DType::Fp16;

fn ints(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

impl GraphBuilder {
    pub fn new() -> Self {
        GraphBuilder {
            graph: Graph::new(),
            counter: 0,
            seed: 0x5EED,
            current: String::new(),
        }
    }

    /// Seed for [`GraphBuilder::random`] weights (each constant gets `seed + its index`).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn shape(&self, t: Tensor) -> &[usize] {
        self.graph.shape(t.0)
    }

    pub fn dtype(&self, t: Tensor) -> DType {
        self.graph.dtype(t.0)
    }

    /// Mark `t` as a function output (in call order).
    pub fn output(&mut self, t: Tensor) {
        self.graph.outputs.push(t.0);
    }

    pub fn finish(self) -> Graph {
        self.graph
    }

    fn fresh(&mut self, base: &str) -> String {
        if self.current.is_empty() {
            self.counter += 1;
            format!("{base}_{}", self.counter)
        } else {
            format!("{}_{base}", self.current)
        }
    }

    // ---- inputs and constants ----

    /// An fp16 function input.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> Tensor {
        Tensor(self.graph.add_input(name, COMPUTE, shape))
    }

    /// A constant from values (stored as fp16).
    pub fn constant(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != values.len() {
            return Err(BuildError::Const {
                name: name.into(),
                reason: format!("shape {shape:?} holds {n} values, {} given", values.len()),
            });
        }
        Ok(Tensor(self.graph.add_const(
            name,
            COMPUTE,
            shape,
            ConstData::Floats(values),
        )))
    }

    /// A constant from `.npy` bytes (any float or integer dtype; stored as fp16).
    pub fn constant_npy(&mut self, name: &str, npy: &[u8]) -> Result<Tensor> {
        let arr = anekit_core::npy::read_npy(npy).map_err(|e| BuildError::Const {
            name: name.into(),
            reason: e.to_string(),
        })?;
        let shape: Vec<usize> = arr.shape.iter().map(|&d| d as usize).collect();
        self.constant(name, &shape, arr.data.to_f32())
    }

    /// A seeded uniform random constant in `[-scale, scale]`, materialised only when written or
    /// evaluated.
    pub fn random(&mut self, name: &str, shape: &[usize], scale: f32) -> Tensor {
        let seed = self.seed.wrapping_add(self.graph.values.len() as u64);
        Tensor(
            self.graph
                .add_const(name, COMPUTE, shape, ConstData::Random { seed, scale }),
        )
    }

    /// An fp16 scalar constant.
    pub fn scalar(&mut self, name: &str, v: f32) -> Tensor {
        Tensor(
            self.graph
                .add_const(name, COMPUTE, &[], ConstData::Floats(vec![v])),
        )
    }

    fn int_param(&mut self, base: &str, v: &[i64]) -> TensorId {
        let name = self.fresh(base);
        self.graph
            .add_const(&name, DType::Int32, &[v.len()], ConstData::Ints(v.to_vec()))
    }

    fn int_scalar(&mut self, base: &str, v: i64) -> TensorId {
        let name = self.fresh(base);
        self.graph
            .add_const(&name, DType::Int32, &[], ConstData::Ints(vec![v]))
    }

    fn bool_param(&mut self, base: &str, v: bool) -> TensorId {
        let name = self.fresh(base);
        self.graph
            .add_const(&name, DType::Bool, &[], ConstData::Bools(vec![v]))
    }

    fn str_param(&mut self, base: &str, v: &str) -> TensorId {
        let name = self.fresh(base);
        self.graph
            .add_const(&name, DType::String, &[], ConstData::Str(v.into()))
    }

    fn fp_param(&mut self, base: &str, v: f32) -> TensorId {
        let name = self.fresh(base);
        self.graph
            .add_const(&name, COMPUTE, &[], ConstData::Floats(vec![v]))
    }

    // ---- layers ----

    fn start_layer(&mut self, name: &str, kind: LayerKind, detail: &str) -> usize {
        self.graph.layers.push(Layer {
            name: name.into(),
            kind,
            detail: detail.into(),
            input_shapes: Vec::new(),
            output_shape: Vec::new(),
            kernel: None,
            stride: None,
            pad: None,
            flops: 0,
            weight_elements: 0,
            weight_bytes: 0,
        });
        self.graph.layers.len() - 1
    }

    fn finish_layer(
        &mut self,
        layer: usize,
        inputs: &[Tensor],
        weights: &[Tensor],
        out: Tensor,
        flops: u64,
    ) {
        let input_shapes = inputs.iter().map(|t| self.shape(*t).to_vec()).collect();
        let output_shape = self.shape(out).to_vec();
        let weight_elements = weights
            .iter()
            .map(|w| self.graph.value(w.0).element_count() as u64)
            .sum();
        let weight_bytes = weights.iter().map(|w| self.graph.weight_bytes(w.0)).sum();
        if let Some(l) = self.graph.layers.get_mut(layer) {
            l.input_shapes = input_shapes;
            l.output_shape = output_shape;
            l.weight_elements = weight_elements;
            l.weight_bytes = weight_bytes;
            l.flops = flops;
        }
    }

    /// Drop a layer whose ops failed (keeps the graph consistent after an error).
    fn abandon(&mut self, layer: usize, nodes_before: usize, values_before: usize) {
        self.graph.layers.truncate(layer);
        self.graph.nodes.truncate(nodes_before);
        self.graph.values.truncate(values_before);
    }

    /// Run `body` as layer `name`: on error the partial ops are removed and the error names the
    /// layer.
    fn layer<F>(
        &mut self,
        layer_name: &'static str,
        name: &str,
        kind: LayerKind,
        body: F,
    ) -> Result<Tensor>
    where
        F: FnOnce(&mut Self, usize) -> Result<Tensor, ShapeError>,
    {
        let (nodes, values) = (self.graph.nodes.len(), self.graph.values.len());
        let idx = self.start_layer(name, kind, layer_name);
        self.current = name.to_string();
        let result = body(self, idx);
        self.current.clear();
        match result {
            Ok(t) => Ok(t),
            Err(source) => {
                self.abandon(idx, nodes, values);
                Err(BuildError::Shape {
                    layer: layer_name,
                    name: name.into(),
                    source,
                })
            }
        }
    }

    fn op(
        &mut self,
        op: &str,
        args: Vec<(&str, Operand)>,
        name: &str,
        layer: usize,
    ) -> Result<Tensor, ShapeError> {
        let args = args.into_iter().map(|(n, a)| (n.to_string(), a)).collect();
        let out = self.graph.add_op(op, args, name, Some(layer))?;
        out.first().copied().map(Tensor).ok_or_else(|| ShapeError {
            op: op.into(),
            inputs: String::new(),
            reason: "no result".into(),
        })
    }

    fn v(t: Tensor) -> Operand {
        Operand::Value(t.0)
    }

    fn p(id: TensorId) -> Operand {
        Operand::Value(id)
    }

    /// 2-D convolution: `x` `[N, C, H, W]`, `weight` `[C_out, C/groups, kH, kW]`, optional
    /// `bias` `[C_out]`. Depthwise is `groups == C`.
    pub fn conv2d(
        &mut self,
        name: &str,
        x: Tensor,
        weight: Tensor,
        bias: Option<Tensor>,
        params: Conv2d,
    ) -> Result<Tensor> {
        if params.groups == 0 {
            return Err(BuildError::Invalid {
                layer: "conv2d",
                name: name.into(),
                reason: "groups must be >= 1".into(),
            });
        }
        let out = self.layer("conv2d", name, LayerKind::Conv, |b, l| {
            let strides = b.int_param("strides", &ints(&params.stride));
            let pad = b.int_param("pad", &ints(&params.pad));
            let dil = b.int_param("dilations", &ints(&params.dilation));
            let groups = b.int_scalar("groups", params.groups as i64);
            let pad_type = b.str_param("pad_type", "custom");
            let mut args = vec![
                ("x", Self::v(x)),
                ("weight", Self::v(weight)),
                ("strides", Self::p(strides)),
                ("pad_type", Self::p(pad_type)),
                ("pad", Self::p(pad)),
                ("dilations", Self::p(dil)),
                ("groups", Self::p(groups)),
            ];
            if let Some(bias) = bias {
                args.push(("bias", Self::v(bias)));
            }
            b.op("conv", args, name, l)
        })?;
        let l = self.graph.layers.len() - 1;
        let w = self.shape(weight).to_vec();
        let o = self.shape(out).to_vec();
        let flops = 2 * o.iter().product::<usize>() as u64 * (w[1] * w[2] * w[3]) as u64;
        let mut weights = vec![weight];
        weights.extend(bias);
        self.finish_layer(l, &[x], &weights, out, flops);
        if let Some(layer) = self.graph.layers.get_mut(l) {
            layer.kernel = Some(vec![w[2], w[3]]);
            layer.stride = Some(params.stride.to_vec());
            layer.pad = Some(params.pad.to_vec());
            if params.groups > 1 {
                layer.detail = if params.groups == w[0] && w[1] == 1 {
                    "depthwise_conv2d".into()
                } else {
                    format!("grouped_conv2d(groups={})", params.groups)
                };
            }
        }
        Ok(out)
    }

    /// Convolution with seeded random weights (`[C_out, C/groups, k, k]`, scale 1/sqrt(fan-in)).
    pub fn conv2d_random(
        &mut self,
        name: &str,
        x: Tensor,
        out_channels: usize,
        kernel: usize,
        bias: bool,
        params: Conv2d,
    ) -> Result<Tensor> {
        let cin = self.shape(x).get(1).copied().unwrap_or(0);
        let per_group = cin / params.groups.max(1);
        let scale = 1.0 / ((per_group * kernel * kernel).max(1) as f32).sqrt();
        let w = self.random(
            &format!("{name}_weight"),
            &[out_channels, per_group, kernel, kernel],
            scale,
        );
        let b = bias.then(|| self.random(&format!("{name}_bias"), &[out_channels], 0.1));
        self.conv2d(name, x, w, b, params)
    }

    /// Max or average pooling over `[N, C, H, W]`; `pad` is `[top, bottom, left, right]`.
    pub fn pool2d(
        &mut self,
        name: &str,
        x: Tensor,
        kind: PoolKind,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 4],
    ) -> Result<Tensor> {
        let (op, detail) = match kind {
            PoolKind::Max => ("max_pool", "max_pool2d"),
            PoolKind::Avg => ("avg_pool", "avg_pool2d"),
        };
        let out = self.layer(detail, name, LayerKind::Pool, |b, l| {
            let k = b.int_param("kernel_sizes", &ints(&kernel));
            let s = b.int_param("strides", &ints(&stride));
            let p = b.int_param("pad", &ints(&pad));
            let pt = b.str_param("pad_type", "custom");
            let cm = b.bool_param("ceil_mode", false);
            let mut args = vec![
                ("x", Self::v(x)),
                ("kernel_sizes", Self::p(k)),
                ("strides", Self::p(s)),
                ("pad_type", Self::p(pt)),
                ("pad", Self::p(p)),
                ("ceil_mode", Self::p(cm)),
            ];
            if kind == PoolKind::Avg {
                let ex = b.bool_param("exclude_padding_from_average", true);
                args.push(("exclude_padding_from_average", Self::p(ex)));
            }
            b.op(op, args, name, l)
        })?;
        let l = self.graph.layers.len() - 1;
        let flops = self.graph.value(out.0).element_count() as u64 * (kernel[0] * kernel[1]) as u64;
        self.finish_layer(l, &[x], &[], out, flops);
        if let Some(layer) = self.graph.layers.get_mut(l) {
            layer.kernel = Some(kernel.to_vec());
            layer.stride = Some(stride.to_vec());
            layer.pad = Some(pad.to_vec());
        }
        Ok(out)
    }

    /// `linear`: `x[..., in] · weight[out, in]ᵀ + bias[out]`.
    pub fn linear(
        &mut self,
        name: &str,
        x: Tensor,
        weight: Tensor,
        bias: Option<Tensor>,
    ) -> Result<Tensor> {
        let out = self.layer("linear", name, LayerKind::Linear, |b, l| {
            let mut args = vec![("x", Self::v(x)), ("weight", Self::v(weight))];
            if let Some(bias) = bias {
                args.push(("bias", Self::v(bias)));
            }
            b.op("linear", args, name, l)
        })?;
        let l = self.graph.layers.len() - 1;
        let w = self.shape(weight).to_vec();
        let rows = self.graph.value(x.0).element_count() / w[1].max(1);
        let flops = 2 * (rows * w[0] * w[1]) as u64;
        let mut weights = vec![weight];
        weights.extend(bias);
        self.finish_layer(l, &[x], &weights, out, flops);
        Ok(out)
    }

    /// Linear with seeded random weights.
    pub fn linear_random(
        &mut self,
        name: &str,
        x: Tensor,
        out_features: usize,
        bias: bool,
    ) -> Result<Tensor> {
        let inf = self.shape(x).last().copied().unwrap_or(0);
        let w = self.random(
            &format!("{name}_weight"),
            &[out_features, inf],
            1.0 / (inf.max(1) as f32).sqrt(),
        );
        let b = bias.then(|| self.random(&format!("{name}_bias"), &[out_features], 0.1));
        self.linear(name, x, w, b)
    }

    /// A linear layer in the ANE's channel-first layout: `x` `[1, C_in, 1, S]` → `[1, C_out, 1,
    /// S]` as a 1×1 `conv` with weight `[C_out, C_in, 1, 1]` (the form ANE generators use;
    /// faster than `matmul` on the ANE, reference/benchmarks.md §8).
    pub fn linear_conv(
        &mut self,
        name: &str,
        x: Tensor,
        weight: Tensor,
        bias: Option<Tensor>,
    ) -> Result<Tensor> {
        let xs = self.shape(x).to_vec();
        if xs.len() != 4 || xs[0] != 1 || xs[2] != 1 {
            return Err(BuildError::Invalid {
                layer: "linear_conv",
                name: name.into(),
                reason: format!("x must be [1, C, 1, S], got {xs:?}"),
            });
        }
        let ws = self.shape(weight).to_vec();
        if ws.len() != 4 || ws[2] != 1 || ws[3] != 1 {
            return Err(BuildError::Invalid {
                layer: "linear_conv",
                name: name.into(),
                reason: format!("weight must be [C_out, C_in, 1, 1], got {ws:?}"),
            });
        }
        let out = self.conv2d(name, x, weight, bias, Conv2d::default())?;
        if let Some(l) = self.graph.layers.last_mut() {
            l.detail = "linear_conv1x1".into();
        }
        Ok(out)
    }

    /// `linear_conv` with seeded random weights (no bias, as the benchmark graphs).
    pub fn linear_conv_random(
        &mut self,
        name: &str,
        x: Tensor,
        out_channels: usize,
        bias: bool,
    ) -> Result<Tensor> {
        let cin = self.shape(x).get(1).copied().unwrap_or(0);
        let w = self.random(
            &format!("{name}_weight"),
            &[out_channels, cin, 1, 1],
            1.0 / (cin.max(1) as f32).sqrt(),
        );
        let b = bias.then(|| self.random(&format!("{name}_bias"), &[out_channels], 0.1));
        self.linear_conv(name, x, w, b)
    }

    /// `matmul` with optional transposes of the last two dims; batch dims broadcast.
    pub fn matmul(
        &mut self,
        name: &str,
        x: Tensor,
        y: Tensor,
        transpose_x: bool,
        transpose_y: bool,
    ) -> Result<Tensor> {
        let out = self.layer("matmul", name, LayerKind::MatMul, |b, l| {
            let tx = b.bool_param("transpose_x", transpose_x);
            let ty = b.bool_param("transpose_y", transpose_y);
            b.op(
                "matmul",
                vec![
                    ("x", Self::v(x)),
                    ("y", Self::v(y)),
                    ("transpose_x", Self::p(tx)),
                    ("transpose_y", Self::p(ty)),
                ],
                name,
                l,
            )
        })?;
        let l = self.graph.layers.len() - 1;
        let xs = self.shape(x);
        let k = if transpose_x {
            xs.get(xs.len().wrapping_sub(2)).copied()
        } else {
            xs.last().copied()
        }
        .unwrap_or(1);
        let flops = 2 * self.graph.value(out.0).element_count() as u64 * k as u64;
        self.finish_layer(l, &[x, y], &[], out, flops);
        Ok(out)
    }

    pub fn softmax(&mut self, name: &str, x: Tensor, axis: i64) -> Result<Tensor> {
        let out = self.layer("softmax", name, LayerKind::Softmax, |b, l| {
            let a = b.int_scalar("axis", axis);
            b.op(
                "softmax",
                vec![("x", Self::v(x)), ("axis", Self::p(a))],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, &[x], &[], 5);
        Ok(out)
    }

    fn close_elementwise(
        &mut self,
        out: Tensor,
        inputs: &[Tensor],
        weights: &[Tensor],
        flops_per_element: u64,
    ) {
        let l = self.graph.layers.len() - 1;
        let flops = self.graph.value(out.0).element_count() as u64 * flops_per_element;
        self.finish_layer(l, inputs, weights, out, flops);
    }

    /// `layer_norm` over `axes` with optional `gamma`/`beta` (shape of the normalised dims).
    pub fn layer_norm(
        &mut self,
        name: &str,
        x: Tensor,
        axes: &[i64],
        gamma: Option<Tensor>,
        beta: Option<Tensor>,
        epsilon: f32,
    ) -> Result<Tensor> {
        let out = self.layer("layer_norm", name, LayerKind::LayerNorm, |b, l| {
            let a = b.int_param("axes", axes);
            // `epsilon` has the dtype of gamma/beta (reference/private-api.md §10 #11).
            let e = b.fp_param("epsilon", epsilon);
            let mut args = vec![("x", Self::v(x)), ("axes", Self::p(a))];
            if let Some(g) = gamma {
                args.push(("gamma", Self::v(g)));
            }
            if let Some(be) = beta {
                args.push(("beta", Self::v(be)));
            }
            args.push(("epsilon", Self::p(e)));
            b.op("layer_norm", args, name, l)
        })?;
        let w: Vec<Tensor> = gamma.into_iter().chain(beta).collect();
        self.close_elementwise(out, &[x], &w, 8);
        Ok(out)
    }

    /// `batch_norm` over channels (dim 1) with constant statistics `[C]`.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &mut self,
        name: &str,
        x: Tensor,
        mean: Tensor,
        variance: Tensor,
        gamma: Option<Tensor>,
        beta: Option<Tensor>,
        epsilon: f32,
    ) -> Result<Tensor> {
        let out = self.layer("batch_norm", name, LayerKind::BatchNorm, |b, l| {
            let e = b.fp_param("epsilon", epsilon);
            let mut args = vec![
                ("x", Self::v(x)),
                ("mean", Self::v(mean)),
                ("variance", Self::v(variance)),
            ];
            if let Some(g) = gamma {
                args.push(("gamma", Self::v(g)));
            }
            if let Some(be) = beta {
                args.push(("beta", Self::v(be)));
            }
            args.push(("epsilon", Self::p(e)));
            b.op("batch_norm", args, name, l)
        })?;
        let w: Vec<Tensor> = [mean, variance]
            .into_iter()
            .chain(gamma)
            .chain(beta)
            .collect();
        self.close_elementwise(out, &[x], &w, 2);
        Ok(out)
    }

    /// RMSNorm over `axis`: `x · rsqrt(mean(x², axis) + eps) · gamma`, written with `mul`,
    /// `reduce_mean`, `add`, `rsqrt` (no native MIL op).
    pub fn rms_norm(
        &mut self,
        name: &str,
        x: Tensor,
        axis: i64,
        gamma: Option<Tensor>,
        epsilon: f32,
    ) -> Result<Tensor> {
        let out = self.layer("rms_norm", name, LayerKind::RmsNorm, |b, l| {
            let sq = b.op(
                "mul",
                vec![("x", Self::v(x)), ("y", Self::v(x))],
                &format!("{name}_sq"),
                l,
            )?;
            let axes = b.int_param("axes", &[axis]);
            let kd = b.bool_param("keep_dims", true);
            let mean = b.op(
                "reduce_mean",
                vec![
                    ("x", Self::v(sq)),
                    ("axes", Self::p(axes)),
                    ("keep_dims", Self::p(kd)),
                ],
                &format!("{name}_mean"),
                l,
            )?;
            let eps = b.fp_param("eps", epsilon);
            let shifted = b.op(
                "add",
                vec![("x", Self::v(mean)), ("y", Self::p(eps))],
                &format!("{name}_eps"),
                l,
            )?;
            let inv = b.op(
                "rsqrt",
                vec![("x", Self::v(shifted))],
                &format!("{name}_rsqrt"),
                l,
            )?;
            let normed = match gamma {
                Some(_) => format!("{name}_normed"),
                None => name.to_string(),
            };
            let y = b.op(
                "mul",
                vec![("x", Self::v(x)), ("y", Self::v(inv))],
                &normed,
                l,
            )?;
            match gamma {
                Some(g) => b.op("mul", vec![("x", Self::v(y)), ("y", Self::v(g))], name, l),
                None => Ok(y),
            }
        })?;
        let w: Vec<Tensor> = gamma.into_iter().collect();
        self.close_elementwise(out, &[x], &w, 4);
        Ok(out)
    }

    fn unary_layer(
        &mut self,
        name: &str,
        x: Tensor,
        op: &'static str,
        kind: LayerKind,
        flops: u64,
    ) -> Result<Tensor> {
        let out = self.layer(op, name, kind, |b, l| {
            b.op(op, vec![("x", Self::v(x))], name, l)
        })?;
        self.close_elementwise(out, &[x], &[], flops);
        Ok(out)
    }

    pub fn relu(&mut self, name: &str, x: Tensor) -> Result<Tensor> {
        self.unary_layer(name, x, "relu", LayerKind::Activation, 1)
    }

    pub fn sigmoid(&mut self, name: &str, x: Tensor) -> Result<Tensor> {
        self.unary_layer(name, x, "sigmoid", LayerKind::Activation, 4)
    }

    /// GELU, tanh approximation (`mode = "TANH_APPROXIMATION"`).
    pub fn gelu(&mut self, name: &str, x: Tensor) -> Result<Tensor> {
        let out = self.layer("gelu", name, LayerKind::Activation, |b, l| {
            let mode = b.str_param("mode", "TANH_APPROXIMATION");
            b.op(
                "gelu",
                vec![("x", Self::v(x)), ("mode", Self::p(mode))],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, &[x], &[], 8);
        Ok(out)
    }

    /// SiLU as `x · sigmoid(x)` (how ANE generators write it).
    pub fn silu(&mut self, name: &str, x: Tensor) -> Result<Tensor> {
        let out = self.layer("silu", name, LayerKind::Activation, |b, l| {
            let s = b.op(
                "sigmoid",
                vec![("x", Self::v(x))],
                &format!("{name}_sigmoid"),
                l,
            )?;
            b.op("mul", vec![("x", Self::v(x)), ("y", Self::v(s))], name, l)
        })?;
        self.close_elementwise(out, &[x], &[], 5);
        Ok(out)
    }

    /// Elementwise binary op with numpy broadcasting.
    pub fn binary(&mut self, name: &str, op: Binary, x: Tensor, y: Tensor) -> Result<Tensor> {
        let mil = op.mil();
        let out = self.layer(mil, name, LayerKind::Elementwise, |b, l| {
            b.op(mil, vec![("x", Self::v(x)), ("y", Self::v(y))], name, l)
        })?;
        self.close_elementwise(out, &[x, y], &[], 1);
        Ok(out)
    }

    pub fn add(&mut self, name: &str, x: Tensor, y: Tensor) -> Result<Tensor> {
        self.binary(name, Binary::Add, x, y)
    }

    pub fn mul(&mut self, name: &str, x: Tensor, y: Tensor) -> Result<Tensor> {
        self.binary(name, Binary::Mul, x, y)
    }

    /// `x · s` for a scalar `s`.
    pub fn scale(&mut self, name: &str, x: Tensor, s: f32) -> Result<Tensor> {
        let c = self.scalar(&format!("{name}_scale"), s);
        self.binary(name, Binary::Mul, x, c)
    }

    /// Scaled dot-product attention `softmax(Q·Kᵀ/√d + mask)·V` for `[B, H, S, D]` tensors,
    /// written as `matmul` + `mul` + `add` + `softmax` + `matmul` (the hardware ignores the mask
    /// of the native op, reference/private-api.md §10 #8, and ios16 has no native op).
    /// `causal` adds a constant upper-triangular −inf (−65504 in fp16) mask.
    pub fn scaled_dot_product_attention(
        &mut self,
        name: &str,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        mask: Option<Tensor>,
        causal: bool,
    ) -> Result<Tensor> {
        let qs = self.shape(q).to_vec();
        let ks = self.shape(k).to_vec();
        if qs.len() < 2 || ks.len() < 2 {
            return Err(BuildError::Invalid {
                layer: "scaled_dot_product_attention",
                name: name.into(),
                reason: format!("query {qs:?} and key {ks:?} must have rank >= 2"),
            });
        }
        let d = qs[qs.len() - 1];
        let (sq, sk) = (qs[qs.len() - 2], ks[ks.len() - 2]);
        let causal_mask = causal.then(|| {
            let vals = (0..sq)
                .flat_map(|i| {
                    (0..sk).map(move |j| {
                        if j > i + sk.saturating_sub(sq) {
                            -65504.0
                        } else {
                            0.0
                        }
                    })
                })
                .collect::<Vec<f32>>();
            Tensor(self.graph.add_const(
                &format!("{name}_causal_mask"),
                COMPUTE,
                &[sq, sk],
                ConstData::Floats(vals),
            ))
        });
        let out = self.layer(
            "scaled_dot_product_attention",
            name,
            LayerKind::Sdpa,
            |b, l| {
                let tx = b.bool_param("transpose_x", false);
                let ty = b.bool_param("transpose_y", true);
                let scores = b.op(
                    "matmul",
                    vec![
                        ("x", Self::v(q)),
                        ("y", Self::v(k)),
                        ("transpose_x", Self::p(tx)),
                        ("transpose_y", Self::p(ty)),
                    ],
                    &format!("{name}_scores"),
                    l,
                )?;
                let sc = b.fp_param("scale", 1.0 / (d.max(1) as f32).sqrt());
                let mut s = b.op(
                    "mul",
                    vec![("x", Self::v(scores)), ("y", Self::p(sc))],
                    &format!("{name}_scaled"),
                    l,
                )?;
                for (i, m) in mask.into_iter().chain(causal_mask).enumerate() {
                    s = b.op(
                        "add",
                        vec![("x", Self::v(s)), ("y", Self::v(m))],
                        &format!("{name}_masked{i}"),
                        l,
                    )?;
                }
                let axis = b.int_scalar("axis", -1);
                let p = b.op(
                    "softmax",
                    vec![("x", Self::v(s)), ("axis", Self::p(axis))],
                    &format!("{name}_probs"),
                    l,
                )?;
                let tx2 = b.bool_param("transpose_x", false);
                let ty2 = b.bool_param("transpose_y", false);
                b.op(
                    "matmul",
                    vec![
                        ("x", Self::v(p)),
                        ("y", Self::v(v)),
                        ("transpose_x", Self::p(tx2)),
                        ("transpose_y", Self::p(ty2)),
                    ],
                    name,
                    l,
                )
            },
        )?;
        let heads: usize = qs[..qs.len() - 2].iter().product();
        let flops = heads as u64 * (4 * sq * sk * d + 6 * sq * sk) as u64;
        let l = self.graph.layers.len() - 1;
        let inputs: Vec<Tensor> = [q, k, v].into_iter().chain(mask).collect();
        self.finish_layer(l, &inputs, &[], out, flops);
        Ok(out)
    }

    pub fn reshape(&mut self, name: &str, x: Tensor, shape: &[i64]) -> Result<Tensor> {
        let out = self.layer("reshape", name, LayerKind::Reshape, |b, l| {
            let s = b.int_param("shape", shape);
            b.op(
                "reshape",
                vec![("x", Self::v(x)), ("shape", Self::p(s))],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, &[x], &[], 0);
        Ok(out)
    }

    pub fn transpose(&mut self, name: &str, x: Tensor, perm: &[i64]) -> Result<Tensor> {
        let out = self.layer("transpose", name, LayerKind::Transpose, |b, l| {
            let p = b.int_param("perm", perm);
            b.op(
                "transpose",
                vec![("x", Self::v(x)), ("perm", Self::p(p))],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, &[x], &[], 0);
        Ok(out)
    }

    /// `concat` along `axis` (an int32 scalar; `interleave` is always written, as the ANE
    /// requires, reference/private-api.md §10 #1).
    pub fn concat(
        &mut self,
        name: &str,
        xs: &[Tensor],
        axis: i64,
        interleave: bool,
    ) -> Result<Tensor> {
        let out = self.layer("concat", name, LayerKind::Concat, |b, l| {
            let a = b.int_scalar("axis", axis);
            let i = b.bool_param("interleave", interleave);
            b.op(
                "concat",
                vec![
                    ("values", Operand::Tuple(xs.iter().map(|t| t.0).collect())),
                    ("axis", Self::p(a)),
                    ("interleave", Self::p(i)),
                ],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, xs, &[], 0);
        Ok(out)
    }

    /// `slice_by_index` with `begin`/`end` per dim (end exclusive), stride 1.
    pub fn slice(&mut self, name: &str, x: Tensor, begin: &[i64], end: &[i64]) -> Result<Tensor> {
        let out = self.layer("slice", name, LayerKind::Slice, |b, l| {
            let bg = b.int_param("begin", begin);
            let en = b.int_param("end", end);
            b.op(
                "slice_by_index",
                vec![
                    ("x", Self::v(x)),
                    ("begin", Self::p(bg)),
                    ("end", Self::p(en)),
                ],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, &[x], &[], 0);
        Ok(out)
    }

    /// `cast` to `dtype` (`fp16`, `fp32`, `int32`).
    pub fn cast(&mut self, name: &str, x: Tensor, dtype: DType) -> Result<Tensor> {
        let out = self.layer("cast", name, LayerKind::Cast, |b, l| {
            let d = b.str_param("dtype", dtype.mil_name());
            b.op(
                "cast",
                vec![("x", Self::v(x)), ("dtype", Self::p(d))],
                name,
                l,
            )
        })?;
        self.close_elementwise(out, &[x], &[], 0);
        Ok(out)
    }

    /// Rotary position embedding on `x` `[B, H, S, D]` (D even, halves rotated as in
    /// GPT-NeoX/Llama): `x·cos + rotate_half(x)·sin`, with the cos/sin tables as constants.
    pub fn rope(&mut self, name: &str, x: Tensor, base: f32) -> Result<Tensor> {
        let xs = self.shape(x).to_vec();
        if xs.len() != 4 || !xs[3].is_multiple_of(2) {
            return Err(BuildError::Invalid {
                layer: "rope",
                name: name.into(),
                reason: format!("x must be [B, H, S, D] with D even, got {xs:?}"),
            });
        }
        let (s, d) = (xs[2], xs[3]);
        let half = d / 2;
        let mut cos = Vec::with_capacity(s * d);
        let mut sin = Vec::with_capacity(s * d);
        for pos in 0..s {
            for i in 0..d {
                let freq = base.powf(-((2 * (i % half)) as f32) / d as f32);
                let angle = pos as f32 * freq;
                cos.push(angle.cos());
                // rotate_half(x) = [-x2, x1]: fold the sign into the sin table.
                sin.push(if i < half { -angle.sin() } else { angle.sin() });
            }
        }
        let cos_t = Tensor(self.graph.add_const(
            &format!("{name}_cos"),
            COMPUTE,
            &[s, d],
            ConstData::Floats(cos),
        ));
        let sin_t = Tensor(self.graph.add_const(
            &format!("{name}_sin"),
            COMPUTE,
            &[s, d],
            ConstData::Floats(sin),
        ));
        let out = self.layer("rope", name, LayerKind::Rope, |b, l| {
            let (b0, h) = (xs[0] as i64, xs[1] as i64);
            let (s_i, half_i, d_i) = (s as i64, half as i64, d as i64);
            let bg1 = b.int_param("begin", &[0, 0, 0, 0]);
            let en1 = b.int_param("end", &[b0, h, s_i, half_i]);
            let x1 = b.op(
                "slice_by_index",
                vec![
                    ("x", Self::v(x)),
                    ("begin", Self::p(bg1)),
                    ("end", Self::p(en1)),
                ],
                &format!("{name}_x1"),
                l,
            )?;
            let bg2 = b.int_param("begin", &[0, 0, 0, half_i]);
            let en2 = b.int_param("end", &[b0, h, s_i, d_i]);
            let x2 = b.op(
                "slice_by_index",
                vec![
                    ("x", Self::v(x)),
                    ("begin", Self::p(bg2)),
                    ("end", Self::p(en2)),
                ],
                &format!("{name}_x2"),
                l,
            )?;
            let axis = b.int_scalar("axis", 3);
            let il = b.bool_param("interleave", false);
            let rot = b.op(
                "concat",
                vec![
                    ("values", Operand::Tuple(vec![x2.0, x1.0])),
                    ("axis", Self::p(axis)),
                    ("interleave", Self::p(il)),
                ],
                &format!("{name}_rot"),
                l,
            )?;
            let a = b.op(
                "mul",
                vec![("x", Self::v(x)), ("y", Self::v(cos_t))],
                &format!("{name}_cos_part"),
                l,
            )?;
            let c = b.op(
                "mul",
                vec![("x", Self::v(rot)), ("y", Self::v(sin_t))],
                &format!("{name}_sin_part"),
                l,
            )?;
            b.op("add", vec![("x", Self::v(a)), ("y", Self::v(c))], name, l)
        })?;
        self.close_elementwise(out, &[x], &[], 3);
        Ok(out)
    }
}
