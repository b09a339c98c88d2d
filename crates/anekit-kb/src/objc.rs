//! Private Objective-C classes of AppleNeuralEngine, Espresso, Core ML and ANEServices with
//! their factories, methods and properties.
//!
//! Transcribed from `../shared/reference/knowledge-base.md` §6 (the normalized member table),
//! §12 (`_ANEDeviceInfo`) and `private-api.md` §2, §19, §20. Selector spellings are exact;
//! `…` marks selectors the notes print truncated.

use crate::evidence::Evidence;
use serde::Serialize;

/// What kind of member a selector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// `+selector` (factories, singletons, class-level queries).
    ClassMethod,
    /// `-init…` initializer.
    Init,
    /// `-selector`.
    Method,
    /// Property (KVC-readable).
    Property,
}

/// One method or property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObjcMember {
    pub kind: MemberKind,
    /// Selector or property name.
    pub name: &'static str,
    /// Argument and return types as the reference gives them ("" when it gives none).
    pub signature: &'static str,
    pub notes: &'static str,
    pub evidence: Evidence,
}

/// One class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObjcClass {
    pub name: &'static str,
    pub framework: &'static str,
    pub members: &'static [ObjcMember],
    pub notes: &'static str,
    pub evidence: Evidence,
    pub source: &'static str,
}

impl ObjcClass {
    /// Factories and initializers (`+…` class methods and `-init…`).
    pub fn factories(&self) -> impl Iterator<Item = &'static ObjcMember> {
        self.members
            .iter()
            .filter(|m| matches!(m.kind, MemberKind::ClassMethod | MemberKind::Init))
    }

    /// A member by exact selector or property name.
    pub fn member(&self, name: &str) -> Option<&'static ObjcMember> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// A class by exact name.
pub fn class(name: &str) -> Option<&'static ObjcClass> {
    CLASSES.iter().find(|c| c.name == name)
}

/// Every class that has a member with this exact selector, with the member.
pub fn classes_with(
    selector: &str,
) -> impl Iterator<Item = (&'static ObjcClass, &'static ObjcMember)> {
    CLASSES
        .iter()
        .flat_map(|c| c.members.iter().map(move |m| (c, m)))
        .filter(move |(_, m)| m.name == selector)
}

use Evidence::{Source as S, Unverified as U};
use MemberKind::{ClassMethod as C, Init as I, Method as M, Property as P};

const fn m(
    kind: MemberKind,
    name: &'static str,
    signature: &'static str,
    evidence: Evidence,
) -> ObjcMember {
    ObjcMember {
        kind,
        name,
        signature,
        notes: "",
        evidence,
    }
}

const fn mn(
    kind: MemberKind,
    name: &'static str,
    signature: &'static str,
    notes: &'static str,
    evidence: Evidence,
) -> ObjcMember {
    ObjcMember {
        kind,
        name,
        signature,
        notes,
        evidence,
    }
}

const ANE: &str = "AppleNeuralEngine.framework";
const ESPRESSO: &str = "Espresso.framework";
const COREML: &str = "CoreML.framework";
const KB6: &str = "knowledge-base.md §6 / private-api.md §20";

const fn class_row(
    name: &'static str,
    framework: &'static str,
    members: &'static [ObjcMember],
    notes: &'static str,
    evidence: Evidence,
) -> ObjcClass {
    ObjcClass {
        name,
        framework,
        members,
        notes,
        evidence,
        source: KB6,
    }
}

pub static CLASSES: &[ObjcClass] = &[
    class_row(
        "_ANEClient",
        ANE,
        &[
            mn(C, "sharedConnection", "", "singleton daemon connection", S),
            m(I, "initWithRestrictedAccessAllowed:", "(BOOL)", S),
            m(
                M,
                "compileModel:options:qos:error:",
                "(id model, id opts, int qos, NSError**) → BOOL",
                S,
            ),
            m(M, "compiledModelExistsFor:", "(id) → BOOL", U),
            m(M, "compiledModelExistsMatchingHash:", "(NSData*) → BOOL", U),
            m(M, "purgeCompiledModel:", "(id) → BOOL", U),
            m(M, "loadModel:options:qos:error:", "→ BOOL", S),
            m(
                M,
                "loadModelNewInstance:options:modelInstParams:qos:error:",
                "→ BOOL",
                U,
            ),
            m(M, "loadRealTimeModel:options:qos:error:", "→ BOOL", U),
            m(M, "unloadModel:options:qos:error:", "→ BOOL", S),
            m(
                M,
                "evaluateWithModel:options:request:qos:error:",
                "→ BOOL",
                S,
            ),
            mn(
                M,
                "evaluateRealTimeWithModel:options:request:error:",
                "→ BOOL",
                "works with _ANEInMemoryModel; 0.093 ms vs 0.175 ms standard on a 64×32 kernel (M4 Max)",
                S,
            ),
            m(
                M,
                "doEvaluateDirectWithModel:options:request:qos:error:",
                "→ BOOL",
                S,
            ),
            m(
                M,
                "mapIOSurfacesWithModel:request:cacheInference:error:",
                "(id, id, BOOL, NSError**) → BOOL",
                U,
            ),
            m(M, "unmapIOSurfacesWithModel:request:", "→ void", U),
            mn(
                M,
                "prepareChainingWithModel:options:chainingReq:qos:error:",
                "→ BOOL",
                "fails on macOS 15+",
                S,
            ),
            mn(M, "enqueueSetsWithModel:…", "", "chaining helper", U),
            mn(M, "buffersReadyWithModel:…", "", "chaining helper", U),
            mn(
                M,
                "beginRealTimeTask",
                "→ BOOL",
                "returns NO without entitlement (?)",
                S,
            ),
            mn(
                M,
                "endRealTimeTask",
                "→ BOOL",
                "returns NO without entitlement (?)",
                S,
            ),
        ],
        "≥ 30 methods (mdaiter tests)",
        S,
    ),
    class_row(
        "_ANEInMemoryModelDescriptor",
        ANE,
        &[mn(
            C,
            "modelWithMILText:weights:optionsPlist:",
            "(NSData*, NSDictionary*, nil)",
            "milText must be NSData; weights: NSString path → {offset: NSNumber, data: NSData}",
            S,
        )],
        "Apple code reportedly contains a \"Desctiptor\" typo in a class name",
        S,
    ),
    class_row(
        "_ANEInMemoryModel",
        ANE,
        &[
            m(C, "inMemoryModelWithDescriptor:", "(descriptor)", S),
            mn(
                M,
                "compileWithQoS:options:error:",
                "(unsigned int qos = 21, NSDictionary* @{}, NSError**) → BOOL",
                "binary written to NSTemporaryDirectory()/<hexStringIdentifier>/",
                S,
            ),
            mn(
                M,
                "loadWithQoS:options:error:",
                "(unsigned int, NSDictionary*, NSError**) → BOOL",
                "the bridge retries once after 100 ms",
                S,
            ),
            mn(
                M,
                "evaluateWithQoS:options:request:error:",
                "(unsigned int, NSDictionary*, _ANERequest*, NSError**) → BOOL",
                "synchronous",
                S,
            ),
            m(
                M,
                "unloadWithQoS:error:",
                "(unsigned int, NSError**) → BOOL",
                S,
            ),
            mn(
                P,
                "hexStringIdentifier",
                "NSString",
                "deterministic in MIL + weights (inference)",
                S,
            ),
            m(P, "programHandle", "uint64", S),
            mn(
                P,
                "program",
                "_ANEProgramForEvaluation",
                "prints queueDepth=127",
                S,
            ),
            mn(
                P,
                "state",
                "NSUInteger",
                "1 = shell _ANEModel, 3 = loaded in-memory model, 5 = error",
                S,
            ),
            m(P, "intermediateBufferHandle", "", S),
            mn(P, "perfStatsMask", "", "settable; counters stay nil", S),
            m(M, "saveModelFiles", "", S),
            m(M, "localModelPath", "", S),
            m(M, "compiledModelExists", "", S),
            m(M, "mapIOSurfacesWithRequest:cacheInference:error:", "", S),
            mn(
                M,
                "purgeCompiledModel",
                "",
                "called by a third-party probe",
                U,
            ),
        ],
        "",
        S,
    ),
    class_row(
        "_ANEModel",
        ANE,
        &[
            m(C, "modelAtURL:key:", "(NSURL*, NSString*)", S),
            m(C, "modelAtURL:key:modelAttributes:", "", S),
            m(
                I,
                "initWithModelAtURL:key:identifierSource:cacheURLIdentifier:modelAttributes:standardizeURL:",
                "(NSURL*, NSString*, int, NSString*, id, BOOL)",
                S,
            ),
            m(I, "initWithModelIdentifier:", "(id)", U),
            m(M, "getUUID", "", S),
            m(M, "inputSymbolIndicesForProcedureIndex:", "", S),
            m(M, "outputSymbolIndicesForProcedureIndex:", "", S),
            m(P, "modelURL", "NSURL", U),
            m(P, "sourceURL", "NSURL", U),
            m(P, "UUID", "", U),
            m(P, "key", "NSString", U),
            mn(P, "state", "int", "1 = created/unloaded", U),
            m(P, "programHandle", "uint64", U),
            m(P, "intermediateBufferHandle", "uint64", U),
            m(P, "queueDepth", "int", U),
            m(P, "perfStatsMask", "uint32", U),
            m(P, "mpsConstants", "", U),
            m(P, "mapper", "", U),
            m(P, "program", "", U),
        ],
        "52 instance methods; the URL is a Core ML-compiled .mlmodelc with model.espresso.net",
        S,
    ),
    class_row(
        "_ANERequest",
        ANE,
        &[
            mn(
                C,
                "requestWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:procedureIndex:",
                "(NSArray*, NSArray*, NSArray*, NSArray*, nil, nil, NSNumber*)",
                "procedureIndex passed as NSNumber @0",
                S,
            ),
            mn(
                I,
                "initWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:procedureIndex:sharedEvents:transactionHandle:",
                "",
                "procedureIndex int, transactionHandle uint64",
                U,
            ),
            m(P, "inputArray", "NSArray", U),
            m(P, "inputIndexArray", "NSArray", U),
            m(P, "outputArray", "NSArray", U),
            m(P, "outputIndexArray", "NSArray", U),
            m(P, "weightsBuffer", "", U),
            m(P, "procedureIndex", "int", U),
            mn(P, "perfStats", "", "array of objects answering statType", U),
            m(P, "perfStatsArray", "NSArray", U),
            mn(
                P,
                "perfStatsMask",
                "uint32",
                "settable bitmask of stats to collect",
                U,
            ),
            m(P, "completionHandler", "void (^)(BOOL, NSError*)", U),
            m(P, "sharedEvents", "", U),
            m(P, "transactionHandle", "uint64", U),
        ],
        "",
        S,
    ),
    class_row(
        "_ANEIOSurfaceObject",
        ANE,
        &[m(C, "objectWithIOSurface:", "(IOSurfaceRef)", S)],
        "thin IOSurface wrapper",
        S,
    ),
    class_row(
        "_ANEBuffer",
        ANE,
        &[mn(
            C,
            "bufferWithIOSurfaceObject:symbolIndex:source:",
            "",
            "source 0 = ANE, 1 = output, 2 = unknown",
            S,
        )],
        "",
        S,
    ),
    class_row(
        "_ANEChainingRequest",
        ANE,
        &[
            mn(
                C,
                "chainingRequestWithInputs:outputSets:lbInputSymbolId:lbOutputSymbolId:procedureIndex:signalEvents:transactionHandle:fwEnqueueDelay:memoryPoolId:",
                "all 9 arguments are objects",
                "loopback and procedure arguments must be nil or it crashes",
                S,
            ),
            mn(
                M,
                "validate",
                "→ BOOL",
                "YES with _ANEBuffer inputs + _ANEIOSurfaceOutputSets",
                S,
            ),
        ],
        "judged obsolete on macOS 15+ (prepare fails)",
        S,
    ),
    class_row(
        "_ANEIOSurfaceOutputSets",
        ANE,
        &[mn(
            C,
            "objectWithstatsSurRef:outputBuffer:",
            "",
            "needs a non-NULL stats IOSurface (64 bytes works)",
            S,
        )],
        "",
        S,
    ),
    class_row(
        "_ANEInputBuffersReady",
        ANE,
        &[m(
            C,
            "inputBuffersWithProcedureIndex:inputBufferInfoIndex:inputFreeValue:executionDelay:",
            "",
            S,
        )],
        "API surface only",
        S,
    ),
    class_row(
        "_ANEOutputSetEnqueue",
        ANE,
        &[m(
            C,
            "outputSetWithProcedureIndex:setIndex:signalValue:signalNotRequired:isOpenLoop:",
            "",
            S,
        )],
        "API surface only",
        S,
    ),
    class_row(
        "_ANEProgramForEvaluation",
        ANE,
        &[
            m(
                C,
                "programWithHandle:intermediateBufferHandle:queueDepth:",
                "",
                S,
            ),
            mn(
                M,
                "processRequest:model:qos:qIndex:modelStringID:options:returnValue:error:",
                "(request, model, uint qos 21, int qIndex 0, NSString* hexStringIdentifier, @{}, BOOL*, NSError**)",
                "0.131 ms vs 0.175 ms standard (64×32, M4 Max)",
                S,
            ),
        ],
        "",
        S,
    ),
    class_row(
        "_ANEProgramIOSurfacesMapper",
        ANE,
        &[
            m(C, "mapperWithProgramHandle:", "", S),
            m(C, "mapperWithController:", "", S),
        ],
        "works only with _ANEModel",
        S,
    ),
    class_row(
        "_ANEPerformanceStats",
        ANE,
        &[
            m(C, "statsWithHardwareExecutionNS:", "", S),
            m(
                C,
                "statsWithRequestPerformanceBuffer:statsBufferSize:",
                "",
                S,
            ),
            m(
                C,
                "statsWithReconstructed:hardwareExecutionNS:aneStatsRawData:",
                "",
                S,
            ),
            m(P, "hwExecutionTime", "", S),
            m(P, "perfCounterData", "", S),
            m(P, "pStatsRawData", "", S),
            mn(
                P,
                "performanceCounters",
                "",
                "nil on M4/macOS 15 even with perfStatsMask = 0xFF",
                S,
            ),
        ],
        "alloc/init returns nil",
        S,
    ),
    class_row(
        "_ANESharedSignalEvent",
        ANE,
        &[m(
            C,
            "signalEventWithValue:symbolIndex:eventType:sharedEvent:",
            "",
            S,
        )],
        "works with MTLSharedEvent or IOSurfaceSharedEventCreate(); GPU↔ANE fence; never used in a pipeline",
        S,
    ),
    class_row(
        "_ANESharedWaitEvent",
        ANE,
        &[m(C, "waitEventWithValue:sharedEvent:", "", S)],
        "",
        S,
    ),
    class_row(
        "_ANEWeight",
        ANE,
        &[m(C, "weightWithSymbolAndURL:weightURL:", "", S)],
        "tried for weight patching, no success",
        S,
    ),
    class_row(
        "_ANEDaemonConnection",
        ANE,
        &[],
        "XPC operations: see the xpc_operations table; ≥ 10 methods (mdaiter tests)",
        U,
    ),
    class_row(
        "_ANEDeviceInfo",
        ANE,
        &[
            mn(C, "hasANE", "BOOL", "1 on Apple silicon", U),
            mn(C, "numANEs", "NSInteger", "1", U),
            mn(C, "numANECores", "NSInteger", "16 (M1)", U),
            mn(C, "productName", "NSString", "\"macOS\"", U),
            mn(C, "buildVersion", "NSString", "\"25B78\"", U),
            mn(
                C,
                "aneArchitectureType",
                "NSInteger",
                "hardware architecture identifier",
                U,
            ),
            mn(
                C,
                "aneSubType",
                "NSInteger/NSString",
                "\"h16\"/\"H16G\" on M4 and M5, \"h17\" on M5 Max (maderix/ANE PR #50, community data)",
                S,
            ),
            mn(C, "isVirtualMachine", "BOOL", "0", U),
            mn(
                C,
                "isInternalBuild",
                "BOOL",
                "0 on consumer macOS; gates the ane_* boot-args",
                U,
            ),
            mn(C, "precompiledModelChecksDisabled", "BOOL", "0", U),
            mn(C, "bootArgs", "NSString", "current boot arguments", U),
            m(C, "isBootArgPresent:", "BOOL", U),
            m(C, "isBoolBootArgSetTrue:", "BOOL", U),
            mn(
                C,
                "restrictedAccessEntitlement",
                "NSString",
                "\"com.apple.aned.private.allow\"",
                U,
            ),
            mn(
                C,
                "adapterWeightsAccessEntitlement",
                "NSString",
                "\"com.apple.aned.private.adapterWeight.allow\"",
                U,
            ),
            mn(
                C,
                "adapterWeightsAccessEntitlementBypassBootArg",
                "NSString",
                "\"ane_skipAdapterWeightAccessCheck\"",
                U,
            ),
            mn(
                C,
                "internalLibraryPath",
                "NSString",
                "\"/AppleInternal/Library\"",
                U,
            ),
            mn(C, "systemLibraryPath", "NSString", "\"/System/Library\"", U),
        ],
        "all class methods (knowledge-base.md §12, private-api.md §19); mdaiter reference.py models an ANEDeviceInfo C struct of 0x68 bytes [source]",
        U,
    ),
    class_row(
        "_ANESharedEvents",
        ANE,
        &[],
        "Metal-style fence/signal container; API surface only",
        U,
    ),
    class_row(
        "_ANEVirtualClient",
        ANE,
        &[],
        "virtualized ANE access, possibly multi-process; API surface only",
        U,
    ),
    class_row(
        "_ANEModelInstanceParameters",
        ANE,
        &[],
        "API surface dumped only",
        U,
    ),
    class_row(
        "_ANEDeviceController",
        ANE,
        &[],
        "API surface dumped only; cannot access a valid device without entitlements (mdaiter)",
        U,
    ),
    class_row("_ANEQoSMapper", ANE, &[], "API surface dumped only", U),
    class_row(
        "EspressoContext",
        ESPRESSO,
        &[
            mn(
                I,
                "initWithPlatform:",
                "(int) encoding @20@0:8i16",
                "0 CPU, 1 GPU, 2 ANE (platform 2 crashes unsigned)",
                U,
            ),
            m(P, "platform", "int", U),
        ],
        "",
        U,
    ),
    class_row(
        "EspressoNetwork",
        ESPRESSO,
        &[
            mn(
                I,
                "initWithJSFile:context:computePath:",
                "encoding @36@0:8r*16@24i32: C-string path, context, int computePath (0)",
                "an NSString path crashes",
                U,
            ),
            mn(M, "layers_size", "", "layer count", U),
        ],
        "",
        U,
    ),
    class_row(
        "EspressoANEIOSurface",
        ESPRESSO,
        &[
            m(M, "createIOSurfaceWithExtraProperties:", "", U),
            m(M, "metalBufferWithDevice:", "", U),
            m(M, "setExternalStorage:ioSurface:", "", U),
            m(M, "nFrames", "", U),
            m(M, "bytesPerFrame", "", U),
            m(M, "totalBytes", "", U),
        ],
        "21 methods in total",
        U,
    ),
    class_row(
        "EspressoProfilingLayerInfo",
        ESPRESSO,
        &[
            m(P, "name", "NSString", U),
            m(P, "debug_name", "NSString", U),
            m(P, "average_runtime", "double (seconds)", U),
            mn(
                P,
                "selected_runtime_engine",
                "int",
                "0 CPU, 1 GPU, 2 ANE",
                U,
            ),
            m(P, "runtimes", "NSArray", U),
        ],
        "profiling class",
        U,
    ),
    class_row(
        "EspressoProfilingNetworkANEInfo",
        ESPRESSO,
        &[
            m(P, "total_ane_time_ns", "uint64", U),
            m(P, "ane_time_per_eval_ns", "uint64", U),
        ],
        "profiling class",
        U,
    ),
    class_row(
        "EspressoCustomPass",
        ESPRESSO,
        &[mn(
            M,
            "runOnNetwork:",
            "BOOL; takes a C++ net pointer",
            "40 Pass_* subclasses (espresso_passes table)",
            U,
        )],
        "",
        U,
    ),
    class_row(
        "MLNeuralEngineComputeDevice",
        COREML,
        &[
            m(C, "physicalDevice", "", U),
            mn(P, "totalCoreCount", "KVC", "16 on an M3 Pro", U),
        ],
        "",
        U,
    ),
    class_row(
        "MLComputePlan",
        COREML,
        &[mn(
            P,
            "computeDevicesBySupportedComputeUnits",
            "",
            "keys are the compute-unit masks",
            U,
        )],
        "public class",
        U,
    ),
    class_row(
        "MLE5ProgramLibraryOnDeviceAOTCompilationImpl",
        COREML,
        &[
            m(I, "initWithMILTextAtURL:container:configuration:", "", S),
            m(
                M,
                "createProgramLibraryHandleWithRespecialization:error:",
                "",
                S,
            ),
        ],
        "E5 route (dev-erik, private-api.md §13)",
        S,
    ),
    class_row(
        "MLE5ProgramLibrary",
        COREML,
        &[m(I, "initWithImpl:container:configuration:", "", S)],
        "E5 route",
        S,
    ),
    class_row(
        "MLE5Engine",
        COREML,
        &[mn(
            M,
            "predictionFromFeatures:options:error:",
            "",
            "7-argument initializer",
            S,
        )],
        "E5 route",
        S,
    ),
    class_row(
        "MLProgramE5Container",
        COREML,
        &[],
        "E5 route: borrowed from a real compiled Core ML model",
        S,
    ),
    class_row(
        "H11ANEDevice",
        "ANEServices.framework (C++)",
        &[],
        "power, logging, firmware user-client methods; programs via ANE_ProgramCreate, ANE_ProgramPrepare, ANE_ProgramSendRequest (0x1000-word request; async completion on a Mach port)",
        S,
    ),
    class_row(
        "H11ANEDeviceController",
        "ANEServices.framework (C++)",
        &[],
        "usage modes UsageCompile (needs debugger) and UsageWithProgram (tinygrad h11ane.h)",
        S,
    ),
];
