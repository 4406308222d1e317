//===- AttnAttrs.td - Attributes of the attn dialect -------------*- tablegen -*-===//
//
// The names of weights and the ABI metadata that travels with a model from the
// front end to the emitter: what a weight is called (and, when it is stacked
// over layers, where the layer index goes), the weight slots and KV caches of
// the generated code, and what each argument of a generated function is. The
// enum values are those of runtime/include/tfc/gen_abi.h; AttnAttrs.cpp checks
// each one against the header at compile time, so the two cannot drift apart.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_DIALECT_ATTN_IR_ATTNATTRS_TD
#define TFC_DIALECT_ATTN_IR_ATTNATTRS_TD

include "tfc/Dialect/Attn/IR/AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
// The attributes that carry lowering decisions (RoPE pairing, sdpa tiles):
// generated with these, since a dialect has one attribute parser and printer.
include "tfc/Dialect/Attn/IR/AttnLoweringAttrs.td"

//===----------------------------------------------------------------------===//
// Enums (values: gen_abi.h)
//===----------------------------------------------------------------------===//

def Attn_ArgKind : I32EnumAttr<"ArgKind",
    "what an argument of a generated model function is (TFC_ARG_*)", [
      I32EnumAttrCase<"tokens", 0>,
      I32EnumAttrCase<"memory", 1>,
      I32EnumAttrCase<"weight", 2>,
      I32EnumAttrCase<"output", 3>,
      I32EnumAttrCase<"pos", 4>,
      I32EnumAttrCase<"cache", 5>,
      I32EnumAttrCase<"arena", 6>,
      I32EnumAttrCase<"layer_offsets", 7>,
      I32EnumAttrCase<"segments", 8>,
      I32EnumAttrCase<"cache_pool", 9>,
      I32EnumAttrCase<"cache_offsets", 10>,
      I32EnumAttrCase<"attention_maps", 11>
    ]> {
  let cppNamespace = "::tfc::attn";
  let genSpecializedAttr = 0;
}

def Attn_DType : I32EnumAttr<"DType",
    "element type of a weight buffer (TFC_DTYPE_*)", [
      I32EnumAttrCase<"f32", 0>,
      I32EnumAttrCase<"bf16", 1>,
      I32EnumAttrCase<"f16", 2>,
      I32EnumAttrCase<"q8_0", 3>,
      I32EnumAttrCase<"q4_0", 4>,
      I32EnumAttrCase<"q6_k", 5>,
      I32EnumAttrCase<"q4_k", 6>,
      I32EnumAttrCase<"q5_k", 7>
    ]> {
  let cppNamespace = "::tfc::attn";
  let genSpecializedAttr = 0;
}

def Attn_WeightInit : I32EnumAttr<"WeightInit",
    "how tfc_model_random fills a weight (TFC_INIT_*)", [
      I32EnumAttrCase<"random", 0>,
      I32EnumAttrCase<"ones", 1>,
      I32EnumAttrCase<"zeros", 2>
    ]> {
  let cppNamespace = "::tfc::attn";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Attn_WeightNameAttr : Attn_Attr<"WeightName", "weight_name"> {
  let summary = "the safetensors name of a weight, with the layer index of a stacked one";
  let description = [{
    A weight's name is one string, or, for a weight stacked over the `layers`
    layers of a layer loop, the parts that the layer index joins (the index
    may appear any number of times, anywhere in the name). `*` stands for the
    layer index:

    ```mlir
    #attn.weight_name<"model.embed_tokens.weight">
    #attn.weight_name<"model.layers." * ".self_attn.q_proj.weight" layers 22>
    #attn.weight_name<"l." * ".p" * ".weight" layers 2>   // l.0.p0.weight, l.1.p1.weight
    #attn.weight_name<"model.layers." * ".mlp.gate.weight" layers 3 first 1>  // layers 1..3
    #attn.weight_name<"model.layers." * ".mlp.experts." * ".up_proj.weight" layers 2 experts 4>
    ```

    `first F` numbers the layers from F (a layer loop `for i in F .. L`).
    `experts E` stacks one tensor per expert of a mixture of experts: the last
    `*` is then the expert index (0 .. E-1) and the others the layer index.
    The stacked tensor has one *entry* per (layer, expert), layer-major:
    entry `k` is layer `k / E`, expert `k % E`, and the leading dimension of
    the weight is the entry count (`layers * experts`, or `experts` for a
    weight outside a layer loop).

    `nameOfLayer(k)` is the one place names are expanded: the manifest, the
    front end's duplicate check, tfc-lower-entry-points and the emitter call
    it.
  }];
  let parameters = (ins ArrayRefParameter<"::mlir::StringAttr", "name parts">:$parts,
                        "int64_t":$layers,
                        DefaultValuedParameter<"int64_t", "0">:$firstLayer,
                        DefaultValuedParameter<"int64_t", "0">:$experts);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    // A weight that is not stacked.
    AttrBuilder<(ins "::llvm::StringRef":$name), [{
      return $_get($_ctxt, ::llvm::ArrayRef<::mlir::StringAttr>{::mlir::StringAttr::get($_ctxt, name)},
                   0, 0, 0);
    }]>,
    // Stacked over the layers of a loop from 0.
    AttrBuilder<(ins "::llvm::ArrayRef<::mlir::StringAttr>":$parts, "int64_t":$layers), [{
      return $_get($_ctxt, parts, layers, 0, 0);
    }]>
  ];
  let extraClassDeclaration = [{
    /// Stacked: one tensor per layer, per expert, or per both.
    bool isStacked() const { return getLayers() > 0 || getExperts() > 0; }
    /// The leading dimension of a stacked weight: one entry per (layer,
    /// expert); 0 for a weight that is not stacked.
    int64_t getEntries() const {
      if (!isStacked())
        return 0;
      return (getLayers() > 0 ? getLayers() : 1) * (getExperts() > 0 ? getExperts() : 1);
    }
    /// The name of entry `entry` (0 <= entry < getEntries(); a layer when the
    /// weight has no experts); for a weight that is not stacked, its name.
    std::string nameOfLayer(int64_t entry) const;
    /// For messages: the name with `*` where the layer index goes.
    std::string str() const;
    /// The name as printed inside `<...>` (and by attn.weight).
    static ::mlir::FailureOr<WeightNameAttr> parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

def Attn_WeightSlotAttr : Attn_Attr<"WeightSlot", "weight_slot"> {
  let summary = "a weight buffer of the generated code (gen_abi.h tfc_gen_slot)";
  let description = [{
    tfc-lower-entry-points gives every distinct weight one buffer ("slot"),
    shared by the functions of the module, and lists them on the module as
    `attn.weight_slots`. `shape` is the slot's full shape (a stacked slot's
    leading dimension is its entry count: layers, or layers times experts), `dtype` what the buffer holds and
    `init` how `tfc_model_random` fills it. A stacked slot of K-quants may
    hold each layer in a type of its own (`--weight-type=q4_k_m`: llama.cpp's
    Q4_K_M gives Q6_K to some layers' value and down projections and Q4_K to
    the others): `layer_dtypes` then lists one K-quant type per entry, and
    `dtype` is the mixture's base type; absent, every entry is `dtype`.

    ```mlir
    module attributes {attn.weight_slots = [
        #attn.weight_slot<"l." * ".w" layers 3, shape = [3, 8, 4], dtype = f32, init = random>,
        #attn.weight_slot<"m." * ".v" layers 2, shape = [2, 4, 256], dtype = q4_k,
                          layer_dtypes = [q4_k, q6_k], init = random>,
        #attn.weight_slot<"out.weight", shape = [4, 4], dtype = bf16, init = random>]} {...}
    ```
  }];
  let parameters = (ins "WeightNameAttr":$name,
                        ArrayRefParameter<"int64_t", "shape">:$shape,
                        "DType":$dtype,
                        "WeightInit":$init,
                        OptionalArrayRefParameter<"DType">:$layerDtypes);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The type of entry `entry` of the slot (`dtype` unless the layers have
    /// types of their own).
    DType getDtypeOf(int64_t entry) const {
      return getLayerDtypes().empty() ? getDtype() : getLayerDtypes()[entry];
    }
    /// The shape of one manifest tensor of the slot (a layer of a stacked one).
    ::llvm::ArrayRef<int64_t> getTensorShape() const {
      return getName().isStacked() ? getShape().drop_front() : getShape();
    }
  }];
}

def Attn_KVCacheAttr : Attn_Attr<"KVCache", "kv_cache"> {
  let summary = "a KV cache buffer each session allocates (gen_abi.h tfc_gen_cache)";
  let description = [{
    The caches of the module, in the order of the cache arguments of its model
    functions, as `attn.kv_caches` on the module: the buffer's type and the
    dimension that holds one entry per position (`max_seq` long).

    ```mlir
    module attributes {attn.kv_caches = [#attn.kv_cache<tensor<2x2x16x8xf32>, seq_dim = 2>]} {...}
    ```
  }];
  let parameters = (ins "::mlir::RankedTensorType":$type, "int64_t":$seqDim);
  let assemblyFormat = "`<` $type `,` `seq_dim` `=` $seqDim `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes of one element of the buffer.
    int64_t getElementBytes() const;
  }];
}

def Attn_EntryArgAttr : Attn_Attr<"EntryArg", "arg"> {
  let summary = "what one argument of a generated model function is (gen_abi.h tfc_gen_arg)";
  let description = [{
    A model function in the runtime's convention lists its arguments as
    `attn.entry_args`: their kinds and, for weights, layer-offset tables and
    caches, the slot or cache they stand for (`[index]`, always written for
    these kinds and never for the others).

    ```mlir
    func.func @decoder(...) attributes {attn.entry_args = [#attn.arg<tokens>,
        #attn.arg<weight[0]>, #attn.arg<weight[1]>, #attn.arg<layer_offsets[1]>, #attn.arg<output>]}
    ```
  }];
  let parameters = (ins "ArgKind":$kind, "int32_t":$index);
  // `[index]` exactly for the kinds that have one (weight[0] is spelled out).
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether arguments of `kind` stand for a slot or cache (`index`).
    static bool isIndexed(ArgKind kind) {
      return kind == ArgKind::weight || kind == ArgKind::layer_offsets || kind == ArgKind::cache ||
             kind == ArgKind::cache_pool;
    }
  }];
}

#endif // TFC_DIALECT_ATTN_IR_ATTNATTRS_TD
