# Shared by bench/run.sh and bench/guarantees.sh (sourced, from the repository's root): the tools, the static
# nginx upstream and the plain nginx reverse proxy in front of it, the Java stack (attest.stack.BenchStack), and
# wrk. Sets NGINX, STATIC and PROXY (bench_nginx), STACK (bench_stack); OUT must be set before.

bench_tools() { # wrk and nginx, from Debian's packages if missing
  NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
  if ! command -v wrk >/dev/null || [ -z "$NGINX" ]; then
    echo "[bench] installing wrk and nginx (Debian packages)"
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk nginx-light >/dev/null 2>&1 \
      || apt-get install -y -qq wrk nginx >/dev/null
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench_nginx() { # the static upstream (a chat completion, or an SSE stream with X-Bench-Stream: 1) and the proxy
  local static_port proxy_port ngx answer event
  static_port=$(free_port); proxy_port=$(free_port)
  ngx="$(pwd)/$OUT/nginx"
  mkdir -p "$ngx/logs" "$ngx/tmp"
  answer='{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"demo-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'
  event='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"demo-model","choices":[{"index":0,"delta":{"content":"Hello!"}}]}\n\ndata: [DONE]\n\n'
  cat > "$ngx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
user root;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body; proxy_temp_path $ngx/tmp/proxy; fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi; scgi_temp_path $ngx/tmp/scgi;
  map \$http_x_bench_stream \$answer { default /answer.json; 1 /answer.sse; }
  # the static upstream
  server {
    listen 127.0.0.1:$static_port;
    keepalive_requests 1000000;
    location / { rewrite ^ \$answer last; }
    location = /answer.json { internal; default_type application/json; return 200 '$answer'; }
    location = /answer.sse { internal; default_type text/event-stream; return 200 '$event'; }
  }
  # the plain reverse proxy in front of it (keep-alive to the upstream, as Attest does)
  upstream static { server 127.0.0.1:$static_port; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    keepalive_requests 1000000;
    location / { proxy_pass http://static; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
  "$NGINX" -t -q -c "$ngx/nginx.conf" -p "$ngx" 2>/dev/null || "$NGINX" -t -c "$ngx/nginx.conf" -p "$ngx"
  "$NGINX" -c "$ngx/nginx.conf" -p "$ngx" &
  NGINX_PID=$!
  STATIC="http://127.0.0.1:$static_port"; PROXY="http://127.0.0.1:$proxy_port"
}

bench_stack() { # java system properties for BenchStack; starts it and waits for target/bench/ready.properties
  if [ -z "${BENCH_CLASSPATH:-}" ]; then # the CI smoke passes the test classpath it already has
    echo "[bench] building"
    mvn -q -B ${MVN_OPTS:-} -DskipTests test-compile
    mvn -q -B ${MVN_OPTS:-} dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$OUT/classpath.txt" >/dev/null
    BENCH_CLASSPATH="target/test-classes:target/classes:$(cat "$OUT/classpath.txt")"
  fi
  rm -f target/bench/ready.properties "$OUT/stdin.$$"
  mkfifo "$OUT/stdin.$$"
  # BENCH_JAVA_OPTS: JVM options of the stack, e.g. -Dattest.data.route-executor=true (system properties override
  # application.properties for every gateway of the stack)
  # shellcheck disable=SC2086
  "${JAVA:-java}" -cp "$BENCH_CLASSPATH" -Dbench.upstream="$STATIC" -Dbench.kafka="${KAFKA:-true}" ${BENCH_JAVA_OPTS:-} "$@" \
    attest.stack.BenchStack \
    < "$OUT/stdin.$$" > "$OUT/stack.log" 2>&1 &
  STACK=$!
  exec 3> "$OUT/stdin.$$"
  trap bench_cleanup EXIT
  echo "[bench] starting the stack (Keycloak, Kafka, PostgreSQL, demo upstream, gateways); log: $OUT/stack.log"
  for _ in $(seq 1 600); do
    [ -f target/bench/ready.properties ] && break
    sleep 1; kill -0 "$STACK" 2>/dev/null || { cat "$OUT/stack.log"; exit 1; }
  done
  [ -f target/bench/ready.properties ] || { echo "[bench] stack did not start"; exit 1; }
}

bench_cleanup() {
  exec 3>&-; wait "$STACK" 2>/dev/null || true; rm -f "$OUT/stdin.$$"
  kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true
}

prop() { grep "^$1=" target/bench/ready.properties | cut -d= -f2-; }

bench_token() { # a fresh access token for alice (the realm's tokens live 5 minutes; a run takes longer)
  local answer
  # a Keycloak that the stack reused (another stack's) may stop during the run: then say so and stop
  answer=$(curl -sf -m 30 -d grant_type=password -d client_id=attest-cli -d username=alice -d password=alice \
    http://127.0.0.1:8180/realms/attest/protocol/openid-connect/token) \
    || { echo "[bench] no token from Keycloak on 127.0.0.1:8180 (stopped?): the run stops" >&2; return 1; }
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<< "$answer"
}

# wrk_to <file> <url> <auth> [connections] [threads] [duration]: the chat completion, with the latency
# distribution and the count of non-200 answers (bench/chat.lua)
wrk_to() {
  BENCH_AUTH="$3" wrk -t"${5:-$THREADS}" -c"${4:-$CONNECTIONS}" -d"${6:-$DURATION}" --latency -s bench/chat.lua "$2" > "$1"
}
