//! The Kubernetes manifests in deploy/ and the Dockerfile. The manifests: valid for Kubernetes
//! 1.31 (kubernetes-validate, strict, offline, through the Python of `make setup`), and saying
//! what the archive Jobs and the server need: an Indexed Job whose shard count matches
//! `--shards`, per-index retries, a pod failure policy that follows `newsgist batch`'s exit
//! codes, a merge over the same directory; for the server gRPC health probes, a termination
//! grace period longer than the drain, an autoscaler on the Deployment, the API keys Secret
//! mounted where `NEWSGIST_API_KEYS_FILE` points, the metrics port that `--metrics-listen`
//! opens. The Dockerfile (not built here: no base images offline): non-root runtime stages,
//! the binary where the manifests run it, and only flags that `newsgist serve` documents.

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

/// `NEWSGIST_*` variables set on a container are ones `newsgist SUBCOMMAND --help` documents
/// (`[env: NAME=]`, or `[env: NAME]` for hidden values): a misspelt one is silently ignored.
fn assert_env_exists(subcommand: &str, env: &Value) {
    let help = documented_flags(subcommand);
    for var in env.as_array().cloned().unwrap_or_default() {
        let name = var["name"].as_str().unwrap();
        if !name.starts_with("NEWSGIST_") {
            continue;
        }
        assert!(
            help.contains(&format!("[env: {name}=")) || help.contains(&format!("[env: {name}]")),
            "the manifest sets {name} for `newsgist {subcommand}`, which documents no such variable"
        );
    }
}

/// The value of the variable `name` in a container's `env`, if set there.
fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["value"].as_str().unwrap_or_else(|| panic!("{name}: a literal value")))
}

/// The Deployment of server.yaml, its pod spec and its one container.
fn server(docs: &[(String, Value)]) -> (&Value, &Value, &Value) {
    let deployment = one(docs, "server.yaml", "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    (deployment, pod, the_container(pod, "newsgist"))
}

/// The port of a `HOST:PORT` address.
fn port_of(addr: &str) -> i64 {
    addr.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("not HOST:PORT: {addr}"))
}

#[test]
fn every_manifest_validates_against_kubernetes_1_31_strictly() {
    let files = manifests();
    for expected in [
        "api-keys-secret.yaml",
        "archive-job.yaml",
        "archive-merge-job.yaml",
        "archive-pvc.yaml",
        "server.yaml",
    ] {
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
    let mut kinds: Vec<&str> = validated
        .documents
        .iter()
        .map(|d| d["resource"]["kind"].as_str().unwrap_or_default())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "Job",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Secret",
            "Service",
            "Service"
        ],
        "the documents of deploy/"
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
    // "" is SERVING from the moment the server listens (models load after that), so the
    // startup probe waits for the process to start and bind, then liveness takes over.
    // Readiness alone waits for the models, and never restarts a pod for a slow start.
    assert_eq!(
        container["startupProbe"]["grpc"],
        serde_json::json!({"port": 50051, "service": ""})
    );
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(
            container[probe]["grpc"]["port"], grpc["containerPort"],
            "{probe} asks the port the server listens on"
        );
    }
    // The kubelet's gRPC probes (Kubernetes 1.31) speak plaintext only, and a server given
    // --tls-cert/--tls-key speaks TLS only: TLS is terminated in front (deploy/README.md).
    assert!(!args.iter().any(|a| a.starts_with("--tls-")), "{args:?}");
    for var in ["NEWSGIST_TLS_CERT", "NEWSGIST_TLS_KEY"] {
        assert_eq!(env_value(container, var), None, "{var} would fail every gRPC probe");
    }
    // The kubelet's gRPC probes cannot send an API key: health must stay open.
    assert!(!args.iter().any(|a| a.starts_with("--auth-health")), "{args:?}");
    assert!(
        env_value(container, "NEWSGIST_AUTH_HEALTH").is_none_or(|v| v == "false"),
        "NEWSGIST_AUTH_HEALTH would fail every probe"
    );

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
            assert_env_exists(&args[0], &container["env"]);
        }
    }
}

#[test]
fn the_server_drains_within_its_termination_grace_period() {
    let docs = documents();
    let (_, pod, container) = server(&docs);
    let args = strings(&container["args"]);
    // Set explicitly, in one place: the grace period below is computed from it.
    let drain: i64 = flag(&args, "--shutdown-grace-secs")
        .expect("--shutdown-grace-secs set explicitly")
        .parse()
        .unwrap();
    assert_eq!(
        env_value(container, "NEWSGIST_SHUTDOWN_GRACE_SECS"),
        None,
        "the flag overrides the variable: set one of them"
    );
    // The kubelet's countdown starts before the preStop hook, and SIGTERM only after it.
    let pre_stop = &container["lifecycle"]["preStop"];
    let pre_stop_secs = pre_stop["sleep"]["seconds"].as_i64().unwrap_or(0);
    assert!(
        pre_stop["exec"].is_null() && pre_stop["httpGet"].is_null(),
        "only a sleep is accounted for: {pre_stop}"
    );
    let grace = pod["terminationGracePeriodSeconds"]
        .as_i64()
        .expect("terminationGracePeriodSeconds set");
    assert!(
        grace > pre_stop_secs + drain,
        "terminationGracePeriodSeconds {grace} must exceed the preStop sleep ({pre_stop_secs} s) plus \
         --shutdown-grace-secs ({drain} s), or draining pods are killed"
    );
}

#[test]
fn the_autoscaler_scales_the_server_deployment_on_cpu() {
    let docs = documents();
    let (deployment, _, container) = server(&docs);
    let hpa = one(&docs, "server.yaml", "HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]})
    );
    let metrics = hpa["spec"]["metrics"].as_array().expect("metrics");
    let cpu = metrics
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
        .expect("a CPU resource metric");
    assert_eq!(cpu["resource"]["target"]["type"], "Utilization");
    let utilisation = cpu["resource"]["target"]["averageUtilization"].as_i64().unwrap();
    assert!((1..=100).contains(&utilisation), "averageUtilization {utilisation}");
    // Utilisation is measured against the request: without one the autoscaler does nothing.
    assert!(!container["resources"]["requests"]["cpu"].is_null());
    let min = hpa["spec"]["minReplicas"].as_i64().expect("minReplicas");
    let max = hpa["spec"]["maxReplicas"].as_i64().unwrap();
    assert!(2 <= min && min <= max, "minReplicas {min}, maxReplicas {max}");
    // With minAvailable >= minReplicas a drain could evict no pod at all.
    let pdb = one(&docs, "server.yaml", "PodDisruptionBudget");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in pdb["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&labels[k], v, "the PodDisruptionBudget selects the server pods");
    }
    let min_available = pdb["spec"]["minAvailable"].as_i64().expect("an integer minAvailable");
    assert!(min_available < min, "minAvailable {min_available} < minReplicas {min}");
    // The autoscaler owns the count: `replicas` in the Deployment would reset it on every apply.
    assert!(deployment["spec"]["replicas"].is_null(), "drop spec.replicas");
}

#[test]
fn the_api_keys_secret_is_mounted_where_newsgist_api_keys_file_points() {
    let docs = documents();
    let (_, pod, container) = server(&docs);
    let path = env_value(container, "NEWSGIST_API_KEYS_FILE").expect("NEWSGIST_API_KEYS_FILE");
    assert_eq!(path, "/etc/newsgist/keys/api-keys");
    assert!(
        !strings(&container["args"]).iter().any(|a| a.starts_with("--api-keys")),
        "the keys come from the file only"
    );
    assert_eq!(
        env_value(container, "NEWSGIST_API_KEYS"),
        None,
        "no keys in the manifest"
    );

    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| path.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap().trim_end_matches('/'))))
        .max_by_key(|m| m["mountPath"].as_str().unwrap().len())
        .unwrap_or_else(|| panic!("nothing is mounted over {path}"));
    assert_eq!(mount["readOnly"], true);
    // The kubelet updates a Secret volume in place; a subPath mount would never see rotated keys.
    assert!(mount["subPath"].is_null(), "no subPath: keys rotate without a restart");
    let relative = &path[mount["mountPath"].as_str().unwrap().trim_end_matches('/').len() + 1..];
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume");
    let secret = &volume["secret"];
    assert!(!secret.is_null(), "{path} is on a Secret volume: {volume}");
    assert_ne!(secret["optional"], true, "the server must not start without its keys");
    let key = match secret["items"].as_array() {
        Some(items) => items
            .iter()
            .find(|i| i["path"] == relative)
            .unwrap_or_else(|| panic!("no item of the Secret volume is at {relative}"))["key"]
            .as_str()
            .unwrap()
            .to_string(),
        None => relative.to_string(),
    };
    // Readable by the pod's user: world-readable, or group-readable with fsGroup.
    let mode = secret["defaultMode"].as_i64().unwrap_or(0o644);
    assert!(
        mode & 0o004 != 0 || (mode & 0o040 != 0 && !pod["securityContext"]["fsGroup"].is_null()),
        "defaultMode {mode:o}: user {} cannot read the keys",
        pod["securityContext"]["runAsUser"]
    );

    let name = secret["secretName"].as_str().unwrap();
    let manifest = docs
        .iter()
        .find(|(_, d)| d["kind"] == "Secret" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Secret {name} in deploy/"));
    assert_eq!(
        manifest.0, "api-keys-secret.yaml",
        "apart from server.yaml: re-applying the server never resets the keys"
    );
    let keys = manifest.1["stringData"][&key]
        .as_str()
        .unwrap_or_else(|| panic!("Secret {name} has no stringData.{key}"));
    // One NAME:KEY per line, every key a marked placeholder.
    let lines: Vec<&str> = keys
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(!lines.is_empty());
    for line in lines {
        let (name, key) = line.split_once(':').unwrap_or_else(|| panic!("not NAME:KEY: {line}"));
        assert!(!name.trim().is_empty(), "{line}");
        assert!(key.contains("REPLACE-ME"), "{line}: placeholders only, clearly marked");
    }
}

#[test]
fn the_placeholder_api_keys_are_refused_by_the_server() {
    // Applied unchanged, the placeholder Secret must not give a server with known keys: each
    // placeholder on its own is refused at start-up (not only the file as a whole).
    let docs = documents();
    let secret = one(&docs, "api-keys-secret.yaml", "Secret");
    let keys = secret["stringData"]["api-keys"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![keys.to_string()];
    files.extend(
        keys.lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
            .map(|l| format!("{l}\n")),
    );
    assert!(files.len() > 1, "no keys in {keys}");
    for (i, text) in files.iter().enumerate() {
        let file = dir.path().join(format!("api-keys-{i}"));
        std::fs::write(&file, text).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_newsgist"))
            .args(["serve", "--listen", "127.0.0.1:0", "--api-keys-file"])
            .arg(&file)
            .env_remove("NEWSGIST_API_KEYS")
            .env_remove("NEWSGIST_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("the server started with the placeholder keys {text:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "{text:?}: {said}");
        assert!(said.contains("use at least 16 random bytes"), "{text:?}: {said}");
    }
}

#[test]
fn the_metrics_port_matches_metrics_listen_and_is_scraped() {
    let docs = documents();
    let (deployment, _, container) = server(&docs);
    let args = strings(&container["args"]);
    let listen = flag(&args, "--metrics-listen").expect("--metrics-listen");
    assert_eq!(listen, "0.0.0.0:9464", "reachable from Prometheus, not loopback");
    assert_eq!(env_value(container, "NEWSGIST_METRICS_LISTEN"), None, "one place");
    let port = port_of(listen);
    let ports = container["ports"].as_array().unwrap();
    let metrics = ports
        .iter()
        .find(|p| p["name"] == "metrics")
        .expect("a port named metrics");
    assert_eq!(metrics["containerPort"], port);
    assert_ne!(
        port_of(flag(&args, "--listen").unwrap()),
        port,
        "gRPC and metrics on different ports"
    );
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], port.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    // The Services carry gRPC only.
    for (_, service) in docs
        .iter()
        .filter(|(f, d)| f == "server.yaml" && d["kind"] == "Service")
    {
        for p in service["spec"]["ports"].as_array().unwrap() {
            assert_ne!(p["targetPort"], "metrics", "{}", service["metadata"]["name"]);
        }
    }
}

/// One stage of the Dockerfile: `FROM base [AS name]` and its instructions (keyword in upper
/// case, the rest as written, continuation lines joined, comments dropped).
#[derive(Debug)]
struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<(String, String)>,
}

fn dockerfile() -> Vec<Stage> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile at the repository root");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        // Comment lines are dropped, inside a continued instruction too (as Docker does).
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(current.is_empty(), "the Dockerfile ends inside a continued line");
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let rest = rest.trim().to_string();
        if keyword == "FROM" {
            let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let name = match words.as_slice() {
                [_] => None,
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => panic!("FROM {rest}"),
            };
            stages.push(Stage {
                base: words[0].to_string(),
                name,
                instructions: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .unwrap_or_else(|| panic!("{keyword} before the first FROM"))
                .instructions
                .push((keyword, rest));
        }
    }
    stages
}

fn stage<'a>(stages: &'a [Stage], name: &str) -> &'a Stage {
    stages
        .iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no stage {name} in the Dockerfile"))
}

/// The last `keyword` instruction in effect in `stage`: its own, or its base stage's.
fn inherited<'a>(stages: &'a [Stage], stage: &'a Stage, keyword: &str) -> Option<&'a str> {
    stage
        .instructions
        .iter()
        .rev()
        .find(|(k, _)| k == keyword)
        .map(|(_, v)| v.as_str())
        .or_else(|| {
            let base = stages.iter().find(|s| s.name.as_deref() == Some(stage.base.as_str()))?;
            inherited(stages, base, keyword)
        })
}

/// An instruction in exec (JSON) form.
fn exec_form(value: &str) -> Vec<String> {
    let parsed: Value = serde_json::from_str(value).unwrap_or_else(|e| panic!("not exec form ({e}): {value}"));
    strings(&parsed)
}

/// The runtime stages: the default target (the last stage, what `docker build .` builds)
/// and `full`.
fn runtime_stages(stages: &[Stage]) -> [&Stage; 2] {
    let lean = stages.last().unwrap();
    assert_ne!(
        lean.name.as_deref(),
        Some("full"),
        "the default target is the lean image"
    );
    [lean, stage(stages, "full")]
}

#[test]
fn the_images_run_newsgist_serve_as_the_non_root_user_of_the_manifests() {
    let stages = dockerfile();
    let docs = documents();
    let (_, pod, container) = server(&docs);
    let run_as = pod["securityContext"]["runAsUser"].as_i64().unwrap();
    let binary = strings(&container["command"]);
    let ports: Vec<String> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].to_string())
        .collect();
    for runtime in runtime_stages(&stages) {
        let what = runtime.name.as_deref().unwrap_or("the last stage");
        // Numeric, so that the kubelet can check runAsNonRoot against the image as well.
        let user = inherited(&stages, runtime, "USER").unwrap_or_else(|| panic!("{what}: no USER, runs as root"));
        let uid: i64 = user
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{what}: USER {user} is not numeric"));
        assert_ne!(uid, 0, "{what}: USER {user}");
        assert_eq!(uid, run_as, "{what}: the user deploy/server.yaml runs as");
        assert!(
            runtime
                .instructions
                .iter()
                .any(|(k, v)| k == "COPY" && v.ends_with(&format!(" {}", binary[0]))),
            "{what}: the binary is copied to {} (the manifests' command)",
            binary[0]
        );
        assert_eq!(
            exec_form(inherited(&stages, runtime, "ENTRYPOINT").expect("ENTRYPOINT")),
            ["newsgist"]
        );
        let cmd = exec_form(inherited(&stages, runtime, "CMD").expect("CMD"));
        assert_eq!(cmd[0], "serve", "{what}");
        assert_eq!(
            flag(&cmd, "--listen"),
            Some("0.0.0.0:50051"),
            "{what}: reachable from outside"
        );
        let exposed: Vec<&str> = inherited(&stages, runtime, "EXPOSE")
            .expect("EXPOSE")
            .split_whitespace()
            .collect();
        for port in &ports {
            assert!(exposed.contains(&port.as_str()), "{what}: EXPOSE {port}");
        }
        let base = stages
            .iter()
            .find(|s| s.name.as_deref() == Some(runtime.base.as_str()))
            .map_or(runtime.base.as_str(), |s| s.base.as_str());
        assert_eq!(base, "debian:bookworm-slim", "{what}");
    }
}

#[test]
fn the_image_cmd_passes_only_flags_that_newsgist_serve_documents() {
    let stages = dockerfile();
    for runtime in runtime_stages(&stages) {
        let cmd = exec_form(inherited(&stages, runtime, "CMD").unwrap());
        println!("{:?}: newsgist {}", runtime.name, cmd.join(" "));
        assert_flags_exist(&cmd[0], &cmd);
    }
}

#[test]
fn the_lean_image_builds_without_libtorch_and_the_full_image_finds_the_pinned_libtorch() {
    let stages = dockerfile();
    let [lean, full] = runtime_stages(&stages);
    let from = |runtime: &Stage| -> String {
        let (_, copy) = runtime
            .instructions
            .iter()
            .find(|(k, v)| k == "COPY" && v.ends_with(" /usr/local/bin/newsgist"))
            .unwrap();
        copy.split_whitespace()
            .find_map(|w| w.strip_prefix("--from="))
            .expect("the binary comes from a build stage")
            .to_string()
    };
    let cargo = |build: &Stage| -> String {
        assert!(build.base.starts_with("rust:1.95-bookworm"), "{}", build.base);
        let runs: Vec<&str> = build
            .instructions
            .iter()
            .filter(|(k, v)| k == "RUN" && v.contains("cargo build"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(runs.len(), 1, "{runs:?}");
        runs[0].split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let lean_build = cargo(stage(&stages, &from(lean)));
    assert!(
        lean_build.contains("cargo build --release --no-default-features --features parquet --locked"),
        "{lean_build}"
    );
    let full_build_stage = stage(&stages, &from(full));
    let full_build = cargo(full_build_stage);
    assert!(full_build.contains("cargo build --release --locked"), "{full_build}");
    assert!(!full_build.contains("--no-default-features"), "{full_build}");

    // libtorch: the version tch is built for, the one scripts/requirements.txt pins.
    let requirements = std::fs::read_to_string(repo().join("scripts/requirements.txt")).unwrap();
    let pinned = requirements
        .lines()
        .find_map(|l| l.trim().strip_prefix("torch=="))
        .expect("scripts/requirements.txt pins torch")
        .split_whitespace()
        .next()
        .unwrap();
    let torch = stage(&stages, "torch");
    assert!(
        torch
            .instructions
            .iter()
            .any(|(k, v)| k == "ARG" && v == &format!("TORCH_VERSION={pinned}")),
        "the torch stage installs torch {pinned}"
    );
    // The full build links against $LIBTORCH/lib with an rpath there (build.rs): the runtime
    // has the libraries at that same path, or says where they are.
    let libtorch = full_build_stage
        .instructions
        .iter()
        .filter(|(k, _)| k == "ENV")
        .find_map(|(_, v)| {
            v.split_whitespace()
                .find_map(|w| w.strip_prefix("LIBTORCH="))
                .map(str::to_string)
        })
        .expect("LIBTORCH set for the full build");
    let lib = format!("{libtorch}/lib");
    let copies_lib = full
        .instructions
        .iter()
        .any(|(k, v)| k == "COPY" && v.ends_with(&format!(" {lib}")));
    let library_path = full
        .instructions
        .iter()
        .any(|(k, v)| k == "ENV" && v.contains("LD_LIBRARY_PATH"));
    assert!(
        copies_lib || library_path,
        "the full image has libtorch at {lib} (the binary's rpath) or sets LD_LIBRARY_PATH"
    );
    // The lean image carries no libtorch.
    assert!(
        !lean.instructions.iter().any(|(_, v)| v.contains("torch")),
        "{:?}",
        lean.instructions
    );
}

#[test]
fn the_docker_build_context_leaves_out_build_outputs_fixtures_and_local_settings() {
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/'))
        .collect();
    for needed in ["target", "models/fixtures", ".git", ".cargo/config.toml"] {
        assert!(patterns.contains(&needed), ".dockerignore lacks {needed}: {patterns:?}");
    }
    // What the build reads (build.rs, include_str!/include_bytes! of models/) stays in.
    for kept in ["src", "proto", "models", "build.rs", "Cargo.toml", "Cargo.lock"] {
        assert!(!patterns.contains(&kept), ".dockerignore must not leave out {kept}");
    }
}
