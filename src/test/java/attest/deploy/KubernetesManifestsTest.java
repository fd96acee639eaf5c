package attest.deploy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.StringReader;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * deploy/kubernetes (issue #14 §2): rendered as kustomize renders it (and by {@code kubectl kustomize} itself where
 * kubectl is installed, which must give the same objects), then every object is read into the Kubernetes API types
 * (fabric8 kubernetes-model) with nothing left over (an unknown or misspelt field fails), and checked for what a
 * platform team relies on: stable instance ids, probes, a disruption budget, keys from Secrets, scrape annotations
 * and settings that the gateway knows.
 */
class KubernetesManifestsTest {
    static final Path DIR = Path.of("deploy/kubernetes");
    static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of("ConfigMap", ConfigMap.class,
            "Service", Service.class, "StatefulSet", StatefulSet.class, "PodDisruptionBudget", PodDisruptionBudget.class);
    static List<Map<String, Object>> rendered;
    static Map<String, HasMetadata> objects = new LinkedHashMap<>();

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void render() throws Exception {
        Map<String, Object> k = (Map<String, Object>) load(Files.readString(DIR.resolve("kustomization.yaml"))).get(0);
        assertThat(k.keySet()).as("only what this renderer does as kustomize does")
                .isSubsetOf(Set.of("apiVersion", "kind", "labels", "resources"));
        Map<String, Object> labels = new LinkedHashMap<>();
        for (Object l : (List<Object>) k.getOrDefault("labels", List.of())) {
            Map<String, Object> entry = (Map<String, Object>) l;
            assertThat(entry.keySet()).isEqualTo(Set.of("pairs"));
            labels.putAll((Map<String, Object>) entry.get("pairs"));
        }
        rendered = new ArrayList<>();
        for (Object r : (List<Object>) k.get("resources")) {
            for (Object doc : load(Files.readString(DIR.resolve((String) r)))) {
                Map<String, Object> o = (Map<String, Object>) doc;
                ((Map<String, Object>) ((Map<String, Object>) o.get("metadata"))
                        .computeIfAbsent("labels", x -> new LinkedHashMap<>())).putAll(labels);
                rendered.add(o);
            }
        }
        for (Map<String, Object> o : rendered) {
            Class<? extends HasMetadata> type = KINDS.get((String) o.get("kind"));
            assertThat(type).as("a known kind: " + o.get("kind")).isNotNull();
            HasMetadata typed = STRICT.convertValue(o, type);
            assertThat(leftOver(typed, new IdentityHashMap<>())).as(o.get("kind") + " fields the API does not have")
                    .isEmpty();
            assertThat(typed.getApiVersion()).isEqualTo(type == StatefulSet.class ? "apps/v1"
                    : type == PodDisruptionBudget.class ? "policy/v1" : "v1");
            objects.put(typed.getKind() + "/" + typed.getMetadata().getName(), typed);
        }
    }

    static List<Object> load(String yaml) {
        List<Object> docs = new ArrayList<>();
        new Load(LoadSettings.builder().setAllowDuplicateKeys(false).build()).loadAllFromString(yaml)
                .forEach(d -> {
                    if (d != null) {
                        docs.add(d);
                    }
                });
        return docs;
    }

    /** Every field fabric8 kept aside as unknown ("additionalProperties"), anywhere in the object. */
    static List<String> leftOver(Object o, Map<Object, Boolean> seen) throws Exception {
        List<String> out = new ArrayList<>();
        if (o == null || seen.put(o, true) != null || !o.getClass().getName().startsWith("io.fabric8")) {
            if (o instanceof Collection<?> c) {
                for (Object e : c) {
                    out.addAll(leftOver(e, seen));
                }
            } else if (o instanceof Map<?, ?> m) {
                for (Object e : m.values()) {
                    out.addAll(leftOver(e, seen));
                }
            }
            return out;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getName().equals("getClass")) {
                continue;
            }
            Object v = m.invoke(o);
            if (m.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    out.add(o.getClass().getSimpleName() + ": " + extra.keySet());
                }
            } else {
                out.addAll(leftOver(v, seen));
            }
        }
        return out;
    }

    @Test
    void should_render_the_same_objects_as_kubectl_kustomize_where_it_is_installed() throws Exception {
        Process which = new ProcessBuilder("sh", "-c", "command -v kubectl").start();
        if (which.waitFor() != 0) {
            return; // kubectl is not everywhere; the objects were rendered and validated above all the same
        }
        Process p = new ProcessBuilder("kubectl", "kustomize", DIR.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(load(out)).containsExactlyInAnyOrderElementsOf(rendered);
    }

    @Test
    void should_give_each_replica_a_stable_instance_id() {
        StatefulSet sts = (StatefulSet) objects.get("StatefulSet/attest-gateway");
        Service headless = (Service) objects.get("Service/" + sts.getSpec().getServiceName());
        assertThat(headless).as("the StatefulSet's governing service").isNotNull();
        assertThat(headless.getSpec().getClusterIP()).isEqualTo("None");
        assertThat(sts.getSpec().getReplicas()).isGreaterThanOrEqualTo(2);
        EnvVar id = env(gateway(sts), "ATTEST_INSTANCE_ID");
        assertThat(id.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
        assertThat(settings()).as("the pod name is the id, never one value for all").doesNotContainKey("attest.instance-id");
    }

    @Test
    void should_probe_liveness_and_readiness_apart_on_the_control_port() {
        Container c = gateway((StatefulSet) objects.get("StatefulSet/attest-gateway"));
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/live");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
        for (Probe probe : List.of(c.getLivenessProbe(), c.getReadinessProbe(), c.getStartupProbe())) {
            String port = probe.getHttpGet().getPort().getStrVal();
            assertThat(c.getPorts()).as("probe port " + port).anyMatch(p -> p.getName().equals(port)
                    && p.getContainerPort() == Integer.parseInt(settings().get("attest.control.port")));
        }
        assertThat(c.getPorts()).anyMatch(p -> p.getName().equals("data")
                && p.getContainerPort() == Integer.parseInt(settings().get("attest.data.port")));
    }

    @Test
    void should_select_the_gateway_pods_from_every_service_and_the_disruption_budget() {
        StatefulSet sts = (StatefulSet) objects.get("StatefulSet/attest-gateway");
        Map<String, String> podLabels = sts.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(podLabels).containsAllEntriesOf(sts.getSpec().getSelector().getMatchLabels());
        PodDisruptionBudget pdb = (PodDisruptionBudget) objects.get("PodDisruptionBudget/attest-gateway");
        assertThat(podLabels).containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
        objects.values().stream().filter(o -> o instanceof Service).map(o -> (Service) o).forEach(s -> {
            assertThat(podLabels).as(s.getMetadata().getName()).containsAllEntriesOf(s.getSpec().getSelector());
            s.getSpec().getPorts().forEach(p -> assertThat(gateway(sts).getPorts())
                    .anyMatch(cp -> cp.getName().equals(p.getTargetPort().getStrVal())));
        });
    }

    @Test
    void should_take_keys_and_passwords_from_secrets_and_never_carry_one() {
        StatefulSet sts = (StatefulSet) objects.get("StatefulSet/attest-gateway");
        assertThat(objects.keySet()).noneMatch(k -> k.startsWith("Secret/"));
        Container c = gateway(sts);
        for (String name : List.of("ATTEST_DB_PASSWORD", "ATTEST_DB_APP_PASSWORD", "ATTEST_DB_AUDITOR_PASSWORD",
                "ATTEST_EVIDENCE_MASTER_KEY", "ATTEST_ADMIN_CLIENT_SECRET")) {
            assertThat(env(c, name).getValueFrom().getSecretKeyRef()).as(name).isNotNull();
            assertThat(env(c, name).getValue()).as(name).isNull();
        }
        Map<String, String> s = settings();
        Map<String, Volume> volumes = new LinkedHashMap<>();
        sts.getSpec().getTemplate().getSpec().getVolumes().forEach(v -> volumes.put(v.getName(), v));
        // every file the settings name is mounted from a Secret, read-only
        for (String key : List.of("attest.evidence.signing-key-file", "attest.upstream.llm.credential.secret-file")) {
            String file = s.get(key);
            var mount = c.getVolumeMounts().stream().filter(m -> file.startsWith(m.getMountPath() + "/")).findFirst();
            assertThat(mount).as(key).isPresent();
            assertThat(mount.get().getReadOnly()).isTrue();
            assertThat(volumes.get(mount.get().getName()).getSecret()).as(key + " from a Secret").isNotNull();
        }
        assertThat(s.get("attest.evidence.signing-key-generate")).isEqualTo("false");
        assertThat(s.get("attest.evidence.master-key-generate")).isEqualTo("false");
        assertThat(s.entrySet()).noneMatch(e -> (e.getKey().endsWith("password") || e.getKey().endsWith("secret"))
                && !e.getValue().isBlank());
    }

    @Test
    void should_read_its_settings_from_the_config_map_and_know_every_one() throws Exception {
        Container c = gateway((StatefulSet) objects.get("StatefulSet/attest-gateway"));
        assertThat(c.getArgs()).containsExactly("run", "--config", "/etc/attest/attest.properties");
        var mount = c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/etc/attest")).findFirst();
        assertThat(mount).isPresent();
        Volume v = ((StatefulSet) objects.get("StatefulSet/attest-gateway")).getSpec().getTemplate().getSpec()
                .getVolumes().stream().filter(x -> x.getName().equals(mount.get().getName())).findFirst().orElseThrow();
        assertThat(objects).containsKey("ConfigMap/" + v.getConfigMap().getName());
        Properties defaults = new Properties();
        try (var in = getClass().getResourceAsStream("/application.properties")) {
            defaults.load(in);
        }
        assertThat(settings().keySet()).as("no misspelt or unknown setting").allMatch(k -> defaults.containsKey(k)
                || k.matches("attest\\.upstream\\.[a-z0-9-]+\\..+"));
        assertThat(settings().get("attest.db.url")).startsWith("jdbc:postgresql://");
    }

    @Test
    void should_run_locked_down_with_scrape_annotations_and_a_memory_limit() {
        StatefulSet sts = (StatefulSet) objects.get("StatefulSet/attest-gateway");
        var pod = sts.getSpec().getTemplate();
        assertThat(pod.getMetadata().getAnnotations()).containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/path", "/metrics")
                .containsEntry("prometheus.io/port", settings().get("attest.control.port"));
        assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSpec().getSecurityContext().getRunAsUser()).isPositive();
        assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
        Container c = gateway(sts);
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).contains("ALL");
        assertThat(c.getResources().getLimits()).containsKey("memory");
        assertThat(c.getVolumeMounts()).anyMatch(m -> m.getMountPath().equals("/tmp"));
        assertThat(pod.getSpec().getTerminationGracePeriodSeconds()).isGreaterThanOrEqualTo(30L);
    }

    static Container gateway(StatefulSet sts) {
        List<Container> cs = sts.getSpec().getTemplate().getSpec().getContainers();
        assertThat(cs).hasSize(1);
        return cs.get(0);
    }

    static EnvVar env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name));
    }

    static Map<String, String> settings() {
        ConfigMap cm = (ConfigMap) objects.get("ConfigMap/attest-config");
        Properties p = new Properties();
        try {
            p.load(new StringReader(cm.getData().get("attest.properties")));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k)));
        return out;
    }
}
