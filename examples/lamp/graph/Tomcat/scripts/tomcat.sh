#!/usr/bin/env bash
# What Tomcat's recipes share: where Tomcat is, and whether it runs (sourced, not a step).
export CATALINA_HOME=/usr/share/tomcat10
export CATALINA_BASE=/var/lib/tomcat10
export CATALINA_PID=/var/run/roboconf-tomcat.pid
export CATALINA_TMPDIR=/tmp
export JAVA_OPTS="${JAVA_OPTS:--Xmx256m -Djava.awt.headless=true}"

tomcat_runs() {
    [[ -s "$CATALINA_PID" ]] && kill -0 "$(cat "$CATALINA_PID")" 2>/dev/null
}

ajp_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/${portAJP:-8009}") 2>/dev/null
}
