//! The Kubernetes manifests in deploy/: valid for Kubernetes 1.31 (kubernetes-validate, strict,
//! offline, through the Python of `make setup`), and saying what the archive Jobs and the
//! server need: an Indexed Job whose shard count matches `--shards`, per-index retries, a pod
//! failure policy that follows `newsgist batch`'s exit codes, a merge over the same directory,
//! and gRPC health probes on the server.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const KUBERNETES_VERSION: &str = "1.31.0";

/// Validates every file named on the command line against the Kubernetes schemas of argv[1]
/// with unknown fields refused, and prints every document as JSON. Unlike the
/// `kubernetes-validate` command, an apiVersion/kind without a schema is an error here, not a
/// warning (the command exits 0 for `batch/v2`).
const VALIDATE: &str = r#"
import json, sys, yaml
import kubernetes_validate as kv

version, files = sys.argv[1], sys.argv[2:]
out = {"kubernetes_validate": kv.__version__, "documents": [], "errors": []}
for name in files:
    with open(name, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if not docs:
        out["errors"].append(f"{name}: no YAML documents")
    for doc in docs:
        what = f"{name}: {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')} ({doc.get('apiVersion')})"
        try:
            validated = kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            out["errors"].append(f"{what}: {path}: {e.message}")
            continue
        except Exception as e:
            out["errors"].append(f"{what}: {type(e).__name__}: {getattr(e, 'message', e)}")
            continue
        out["documents"].append({"file": name, "validated": validated, "resource": doc})
print(json.dumps(out))
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python environment of `make setup` (NEWSGIST_PYTHON, written to .cargo/config.toml).
fn python() -> String {
    let python = std::env::var("NEWSGIST_PYTHON")
        .ok()
        .or_else(|| option_env!("NEWSGIST_PYTHON").map(String::from))
        .expect("NEWSGIST_PYTHON is set by scripts/setup.sh in .cargo/config.toml: run `make setup`");
    assert!(
        Path::new(&python).is_file(),
        "{python} (NEWSGIST_PYTHON) does not exist: run `make setup`"
    );
    python
}

struct Validated {
    documents: Vec<Value>,
    errors: Vec<String>,
    report: String,
}

fn validate(files: &[PathBuf]) -> Validated {
    let output = Command::new(python())
        .args(["-c", VALIDATE, KUBERNETES_VERSION])
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the validator did not run (is kubernetes-validate installed? `make setup` installs \
         scripts/requirements.txt):\n{stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    Validated {
        documents: report["documents"].as_array().unwrap().clone(),
        errors: report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect(),
        report: format!(
            "kubernetes-validate {}",
            report["kubernetes_validate"].as_str().unwrap_or("?")
        ),
    }
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy"))
        .expect("deploy/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

/// Every document of deploy/, validated, with the file it came from.
fn documents() -> Vec<(String, Value)> {
    let validated = validate(&manifests());
    assert!(
        validated.errors.is_empty(),
        "deploy/ does not validate against Kubernetes {KUBERNETES_VERSION}:\n{}",
        validated.errors.join("\n")
    );
    validated
        .documents
        .into_iter()
        .map(|d| {
            let file = Path::new(d["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (file, d["resource"].clone())
        })
        .collect()
}

fn one<'a>(docs: &'a [(String, Value)], file: &str, kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|(f, d)| f == file && d["kind"] == kind)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(found.len(), 1, "deploy/{file} should hold exactly one {kind}");
    found[0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string())
        .collect()
}

/// The value after `flag` in `args`, once.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let at: Vec<usize> = (0..args.len()).filter(|&i| args[i] == name).collect();
    assert!(at.len() <= 1, "{name} given twice in {args:?}");
    at.first()
        .map(|&i| args.get(i + 1).map(String::as_str).expect("flag value"))
}

fn the_container<'a>(pod_spec: &'a Value, name: &str) -> &'a Value {
    let containers = pod_spec["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "one container: {pod_spec}");
    assert_eq!(containers[0]["name"], name);
    &containers[0]
}

fn assert_deployable_container(pod_spec: &Value, container: &Value) {
    assert_eq!(container["image"], "newsgist:latest");
    assert_eq!(strings(&container["command"]), ["/usr/local/bin/newsgist"]);
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                !container["resources"][kind][resource].is_null(),
                "{}: resources.{kind}.{resource} missing",
                container["name"]
            );
        }
    }
    // Non-root: runAsNonRoot and a non-zero user, from the pod or the container.
    let setting = |key: &str| {
        let c = &container["securityContext"][key];
        if c.is_null() {
            pod_spec["securityContext"][key].clone()
        } else {
            c.clone()
        }
    };
    assert_eq!(setting("runAsNonRoot"), true);
    assert!(
        setting("runAsUser").as_i64().is_some_and(|u| u > 0),
        "runAsUser must be non-zero"
    );
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
}

/// What the Job controller does with a failed pod whose container `container` exited with
/// `code`: the action of the first onExitCodes rule that matches, "Count" when none does.
fn action_for_exit_code(policy: &Value, container: &str, code: i64) -> String {
    for rule in policy["rules"].as_array().unwrap() {
        let on = &rule["onExitCodes"];
        if on.is_null() {
            continue;
        }
        if let Some(name) = on["containerName"].as_str() {
            if name != container {
                continue;
            }
        }
        let listed = on["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_i64() == Some(code));
        let matches = match on["operator"].as_str().unwrap() {
            "In" => listed,
            "NotIn" => !listed,
            other => panic!("unknown operator {other}"),
        };
        if matches {
            return rule["action"].as_str().unwrap().to_string();
        }
    }
    "Count".into()
}

fn action_for_condition(policy: &Value, condition: &str) -> Option<String> {
    policy["rules"].as_array().unwrap().iter().find_map(|rule| {
        let patterns = rule["onPodConditions"].as_array()?;
        patterns
            .iter()
            .any(|p| p["type"] == condition && (p["status"].is_null() || p["status"] == "True"))
            .then(|| rule["action"].as_str().unwrap().to_string())
    })
}

/// The PVC claims a pod spec mounts, by mount path: (claim, readOnly).
fn pvc_mounts(pod_spec: &Value, container: &Value) -> Vec<(String, String, bool)> {
    let volumes = pod_spec["volumes"].as_array().cloned().unwrap_or_default();
    container["volumeMounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            let volume = volumes
                .iter()
                .find(|v| v["name"] == m["name"])
                .expect("mounted volume exists");
            let claim = volume["persistentVolumeClaim"]["claimName"].as_str()?;
            Some((
                m["mountPath"].as_str().unwrap().to_string(),
                claim.to_string(),
                m["readOnly"] == true,
            ))
        })
        .collect()
}

/// The PVC mounted over `path` (the mount with the longest matching prefix) and whether it is
/// read-only.
fn mount_for(mounts: &[(String, String, bool)], path: &str) -> (String, bool) {
    mounts
        .iter()
        .filter(|(at, _, _)| path == at || path.starts_with(&format!("{}/", at.trim_end_matches('/'))))
        .max_by_key(|(at, _, _)| at.len())
        .map(|(_, claim, ro)| (claim.clone(), *ro))
        .unwrap_or_else(|| panic!("{path} is on no PersistentVolumeClaim: {mounts:?}"))
}

/// Flags (`--name`) that `newsgist SUBCOMMAND --help` documents.
fn documented_flags(subcommand: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .args([subcommand, "--help"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "newsgist {subcommand} --help failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_flags_exist(subcommand: &str, args: &[String]) {
    let help = documented_flags(subcommand);
    for arg in args.iter().filter(|a| a.starts_with("--")) {
        let name = arg.split('=').next().unwrap();
        assert!(
            help.contains(&format!("{name} ")) || help.contains(&format!("{name}\n")),
            "the manifest passes {name} to `newsgist {subcommand}`, which does not document it"
        );
    }
}

#[test]
fn every_manifest_validates_against_kubernetes_1_31_strictly() {
    let files = manifests();
    for expected in ["archive-job.yaml", "archive-merge-job.yaml", "server.yaml"] {
        assert!(
            files.iter().any(|f| f.ends_with(expected)),
            "deploy/{expected} missing: {files:?}"
        );
    }
    let validated = validate(&files);
    for doc in &validated.documents {
        println!(
            "{}: {}/{} valid for {} ({})",
            doc["file"].as_str().unwrap_or_default(),
            doc["resource"]["kind"].as_str().unwrap_or_default(),
            doc["resource"]["metadata"]["name"].as_str().unwrap_or_default(),
            doc["validated"].as_str().unwrap_or_default(),
            validated.report
        );
        assert_eq!(doc["validated"], "1.31", "validated against the 1.31 schemas");
    }
    assert!(
        validated.errors.is_empty(),
        "deploy/ does not validate against Kubernetes {KUBERNETES_VERSION}:\n{}",
        validated.errors.join("\n")
    );
    assert!(
        validated.documents.len() >= 4,
        "Job, merge Job, Deployment, Service at least"
    );
}

#[test]
fn the_validator_rejects_unknown_fields_wrong_types_and_unknown_api_versions() {
    // So that the test above can fail: the same archive Job, broken three ways.
    let good = std::fs::read_to_string(repo().join("deploy/archive-job.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "typo.yaml",
            good.replacen("\n  backoffLimitPerIndex:", "\n  backoffLimitPerIndx:", 1),
        ),
        (
            "type.yaml",
            good.replacen("\n  completions: ", "\n  completions: many-", 1),
        ),
        (
            "api.yaml",
            good.replacen("\napiVersion: batch/v1", "\napiVersion: batch/v2", 1),
        ),
    ];
    let mut files = Vec::new();
    for (name, text) in &cases {
        assert_ne!(text, &good, "{name}: the manifest changed shape; update this test");
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    let validated = validate(&files);
    assert!(validated.documents.is_empty(), "{:?}", validated.documents);
    assert_eq!(validated.errors.len(), 3, "{:#?}", validated.errors);
    assert!(
        validated.errors[0].contains("backoffLimitPerIndx"),
        "{}",
        validated.errors[0]
    );
    assert!(validated.errors[1].contains("completions"), "{}", validated.errors[1]);
    assert!(validated.errors[2].contains("batch/v2"), "{}", validated.errors[2]);
}

#[test]
fn the_archive_job_is_indexed_with_one_shard_per_completion_and_per_index_retries() {
    let docs = documents();
    let job = one(&docs, "archive-job.yaml", "Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let completions = spec["completions"].as_i64().expect("completions");
    assert!(completions >= 2, "a sharded job: {completions}");
    let parallelism = spec["parallelism"].as_i64().expect("parallelism");
    assert!((1..=completions).contains(&parallelism));
    assert!(
        spec["backoffLimitPerIndex"].as_i64().is_some_and(|n| n >= 1),
        "backoffLimitPerIndex: {}",
        spec["backoffLimitPerIndex"]
    );
    assert!(
        spec["maxFailedIndexes"]
            .as_i64()
            .is_some_and(|n| (0..completions).contains(&n)),
        "maxFailedIndexes: {}",
        spec["maxFailedIndexes"]
    );
    // Checked by the API server, not by the schema: podFailurePolicy needs restartPolicy Never
    // and allows only podReplacementPolicy Failed (a terminating pod and its replacement would
    // otherwise write the same part at once).
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert!(
        spec["podReplacementPolicy"].is_null() || spec["podReplacementPolicy"] == "Failed",
        "{}",
        spec["podReplacementPolicy"]
    );

    let container = the_container(pod, "newsgist");
    assert_deployable_container(pod, container);
    let args = strings(&container["args"]);
    assert_eq!(args[0], "batch");
    assert_eq!(flag(&args, "--input"), Some("/data/in/archive.jsonl"));
    assert_eq!(flag(&args, "--output"), Some("/data/out/archive"));
    assert_eq!(
        flag(&args, "--shards").map(|s| s.parse::<i64>().unwrap()),
        Some(completions),
        "--shards must equal spec.completions, or rows are lost or done twice"
    );
    assert_eq!(
        flag(&args, "--shard-index"),
        None,
        "the index comes from JOB_COMPLETION_INDEX"
    );
    let env = container["env"].as_array().cloned().unwrap_or_default();
    assert!(
        env.iter().all(|e| e["name"] != "JOB_COMPLETION_INDEX"),
        "JOB_COMPLETION_INDEX is the Job controller's to set"
    );

    // Input read-only, output writable, both on a claim that deploy/ defines.
    let mounts = pvc_mounts(pod, container);
    let (input_claim, input_ro) = mount_for(&mounts, "/data/in/archive.jsonl");
    let (output_claim, output_ro) = mount_for(&mounts, "/data/out/archive");
    assert!(input_ro, "the input is mounted read-only");
    assert!(!output_ro, "the output must be writable");
    for claim in [&input_claim, &output_claim] {
        assert!(
            docs.iter()
                .any(|(_, d)| d["kind"] == "PersistentVolumeClaim" && d["metadata"]["name"] == **claim),
            "no PersistentVolumeClaim {claim} in deploy/"
        );
    }
    let pvc = docs
        .iter()
        .find(|(_, d)| d["kind"] == "PersistentVolumeClaim" && d["metadata"]["name"] == *output_claim)
        .unwrap();
    if parallelism > 1 {
        assert!(
            strings(&pvc.1["spec"]["accessModes"]).contains(&"ReadWriteMany".to_string()),
            "shards on several nodes write one directory: the claim must be ReadWriteMany"
        );
    }
}

#[test]
fn the_pod_failure_policy_follows_the_exit_codes_of_newsgist_batch() {
    let docs = documents();
    let spec = &one(&docs, "archive-job.yaml", "Job")["spec"];
    let policy = &spec["podFailurePolicy"];
    assert!(policy["rules"].is_array(), "podFailurePolicy.rules missing: {spec}");
    assert_eq!(
        action_for_exit_code(policy, "newsgist", 2),
        "FailJob",
        "exit 2: bad flags or configuration"
    );
    assert_eq!(
        action_for_exit_code(policy, "newsgist", 3),
        "FailIndex",
        "exit 3: more failed rows than --max-failures"
    );
    assert_eq!(
        action_for_exit_code(policy, "newsgist", 1),
        "Count",
        "exit 1: a runtime error is retried"
    );
    assert_eq!(
        action_for_exit_code(policy, "newsgist", 137),
        "Count",
        "SIGKILL (OOM): retried, and resumed"
    );
    assert_eq!(
        action_for_condition(policy, "DisruptionTarget").as_deref(),
        Some("Ignore")
    );
    // The API server refuses In [0] and FailIndex without backoffLimitPerIndex.
    for rule in policy["rules"].as_array().unwrap() {
        if rule["onExitCodes"]["operator"] == "In" {
            assert!(!rule["onExitCodes"]["values"]
                .as_array()
                .unwrap()
                .contains(&Value::from(0)));
        }
        if rule["action"] == "FailIndex" {
            assert!(!spec["backoffLimitPerIndex"].is_null());
        }
    }
}

#[test]
fn the_merge_job_joins_what_the_archive_job_writes() {
    let docs = documents();
    let archive = one(&docs, "archive-job.yaml", "Job");
    let merge = one(&docs, "archive-merge-job.yaml", "Job");
    assert_eq!(merge["apiVersion"], "batch/v1");
    let archive_pod = &archive["spec"]["template"]["spec"];
    let archive_container = the_container(archive_pod, "newsgist");
    let archive_args = strings(&archive_container["args"]);
    let pod = &merge["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let container = the_container(pod, "newsgist");
    assert_deployable_container(pod, container);
    let args = strings(&container["args"]);
    assert_eq!(args[0], "merge");
    let shards_dir = flag(&archive_args, "--output").unwrap();
    assert_eq!(flag(&args, "--input"), Some(shards_dir));
    let merged = flag(&args, "--output").expect("merge --output");
    assert!(
        !merged.starts_with(&format!("{shards_dir}/")),
        "the merged file is not inside the parts"
    );
    // The same claim under the same directory in both Jobs.
    let (archive_claim, _) = mount_for(&pvc_mounts(archive_pod, archive_container), shards_dir);
    let mounts = pvc_mounts(pod, container);
    let (claim, read_only) = mount_for(&mounts, shards_dir);
    assert_eq!(claim, archive_claim);
    let (out_claim, out_ro) = mount_for(&mounts, merged);
    assert_eq!(out_claim, archive_claim);
    assert!(!read_only && !out_ro);
}

#[test]
fn the_server_serves_grpc_on_50051_with_grpc_health_probes() {
    let docs = documents();
    let deployment = one(&docs, "server.yaml", "Deployment");
    assert_eq!(deployment["apiVersion"], "apps/v1");
    let template = &deployment["spec"]["template"];
    let labels = template["metadata"]["labels"].as_object().unwrap();
    for (k, v) in deployment["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(labels.get(k), Some(v), "the selector matches the pod template");
    }
    let pod = &template["spec"];
    let container = the_container(pod, "newsgist");
    assert_deployable_container(pod, container);
    let args = strings(&container["args"]);
    assert_eq!(args[0], "serve");
    // The default listen address is loopback, unreachable from the Service.
    assert_eq!(flag(&args, "--listen"), Some("0.0.0.0:50051"));
    let ports = container["ports"].as_array().unwrap();
    let grpc = ports
        .iter()
        .find(|p| p["containerPort"] == 50051)
        .expect("containerPort 50051");
    assert_eq!(
        container["readinessProbe"]["grpc"],
        serde_json::json!({"port": 50051, "service": "newsgist.v1.SummarizerService"})
    );
    assert_eq!(
        container["livenessProbe"]["grpc"],
        serde_json::json!({"port": 50051, "service": ""})
    );
    // Liveness would kill a pod that is still loading models ("" is NOT_SERVING until the
    // workers are warm) without a startup probe to wait for it first.
    assert!(!container["startupProbe"]["grpc"].is_null(), "startupProbe");

    let services: Vec<&Value> = docs
        .iter()
        .filter(|(f, d)| f == "server.yaml" && d["kind"] == "Service")
        .map(|(_, d)| d)
        .collect();
    assert!(!services.is_empty(), "a Service for the server");
    for service in services {
        let name = &service["metadata"]["name"];
        assert_eq!(service["apiVersion"], "v1");
        for (k, v) in service["spec"]["selector"].as_object().unwrap() {
            assert_eq!(labels.get(k), Some(v), "Service {name} selects the server pods");
        }
        let port = &service["spec"]["ports"].as_array().unwrap()[0];
        assert_eq!(port["port"], 50051, "Service {name}");
        let target = &port["targetPort"];
        assert!(
            *target == 50051 || (target.is_string() && *target == grpc["name"]),
            "Service {name}: targetPort {target} is not the container's gRPC port"
        );
    }
}

#[test]
fn the_manifests_pass_only_flags_that_newsgist_documents() {
    let docs = documents();
    for (file, doc) in &docs {
        let pod = match doc["kind"].as_str() {
            Some("Job" | "Deployment") => &doc["spec"]["template"]["spec"],
            _ => continue,
        };
        for container in pod["containers"].as_array().unwrap() {
            let args = strings(&container["args"]);
            println!("{file}: newsgist {}", args.join(" "));
            assert_flags_exist(&args[0], &args);
        }
    }
}
