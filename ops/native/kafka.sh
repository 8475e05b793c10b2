#!/usr/bin/env bash
# Apache Kafka, single node in KRaft mode (broker + controller in one JVM), from Maven Central jars.
# Sourced by ops/stack after lib.sh. Kafka 4.x: kafkajs 2.2.4 was tried against it (produce with the
# idempotent producer, transactions, consumer groups, admin) by test/integration/smoke.kafka.test.ts.

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_HOME="$LL_DIST/kafka-$KAFKA_VERSION"
KAFKA_DATA="$LL_DATA/kafka"

kafka_install() {
  [ -f "$KAFKA_HOME/.complete" ] && return 0
  ll_log "resolving the Kafka $KAFKA_VERSION broker classpath with mvn (first run only)"
  rm -rf "$KAFKA_HOME"; mkdir -p "$KAFKA_HOME"
  mvn -q -B -f "$LL_ROOT/ops/native/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" >&2 \
    || ll_die "mvn could not fetch Kafka $KAFKA_VERSION from Maven Central"
  touch "$KAFKA_HOME/.complete"
}

kafka_java() { java -Dlog4j2.configurationFile="$LL_ROOT/ops/native/kafka/log4j2.yaml" -cp "$KAFKA_HOME/libs/*" "$@"; }

kafka_config() {
  # Single node: every internal topic needs replication factor 1 and min ISR 1, or consumer groups
  # and transactions never find a coordinator.
  cat <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA/log
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=-1
CONF
}

kafka_ready() {
  # The port opens before the broker has finished starting; the "started" line in this start's log
  # (ll_spawn rotates the log) is cheaper than a JVM-based admin round trip.
  ll_port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$LL_LOGS/kafka.log"
}

kafka_up() {
  if ll_port_open "$KAFKA_PORT"; then ll_log "kafka already up on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  kafka_install
  mkdir -p "$KAFKA_DATA"
  kafka_config > "$KAFKA_DATA/server.properties"
  if [ ! -f "$KAFKA_DATA/log/meta.properties" ]; then
    ll_log "formatting Kafka storage (once)"
    kafka_java kafka.tools.StorageTool format --ignore-formatted \
      -t "$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)" \
      -c "$KAFKA_DATA/server.properties" >>"$LL_LOGS/kafka.log" 2>&1 || ll_die "Kafka storage format failed; see $LL_LOGS/kafka.log"
  fi
  ll_spawn kafka java "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Dlog4j2.configurationFile="$LL_ROOT/ops/native/kafka/log4j2.yaml" \
      -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_DATA/server.properties"
  ll_wait kafka 120 kafka_ready
}

kafka_down() { ll_stop kafka; }

kafka_status() {
  local who="pid $(cat "$(ll_pidfile kafka)" 2>/dev/null)"
  ll_running kafka || who="not started by this checkout"
  if ll_port_open "$KAFKA_PORT"; then
    printf '%-13s up    127.0.0.1:%s (kafka %s KRaft, %s)\n' kafka "$KAFKA_PORT" "$KAFKA_VERSION" "$who"
  else
    printf '%-13s down\n' kafka; return 1
  fi
}
