{{/* Names */}}
{{- define "tpgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tpgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<suffix>", within 63 characters. */}}
{{- define "tpgate.suffixed" -}}
{{- $root := index . 0 }}{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "tpgate.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "tpgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tpgate.labels" -}}
helm.sh/chart: {{ include "tpgate.chart" . }}
{{ include "tpgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tpgate
{{- end }}

{{- define "tpgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tpgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of the serving pods (not the migration Job's). */}}
{{- define "tpgate.podSelectorLabels" -}}
{{ include "tpgate.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "tpgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tpgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tpgate.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "tpgate.secretName" -}}
{{- default (include "tpgate.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "tpgate.createSecret" -}}
{{- if not .Values.secrets.existingSecret }}true{{ end }}
{{- end }}

{{/* The most pods that can run at once: HPA max when autoscaling, else replicaCount. */}}
{{- define "tpgate.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.maxReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end }}
{{- end }}

{{- define "tpgate.isSqlite" -}}
{{- if eq .Values.database.type "sqlite" }}true{{ end }}
{{- end }}

{{/* The database URL put into the chart-created Secret. */}}
{{- define "tpgate.databaseUrl" -}}
{{- if .Values.database.url }}
{{- .Values.database.url }}
{{- else if include "tpgate.isSqlite" . }}
{{- printf "sqlite://%s/tpgate.db?mode=rwc" (trimSuffix "/" .Values.persistence.mountPath) }}
{{- end }}
{{- end }}

{{/* Admin tokens can be verified with public keys (so the HS256 secret is optional). */}}
{{- define "tpgate.hasPublicKeys" -}}
{{- if or .Values.admin.jwtPublicKeys .Values.admin.jwksKey .Values.admin.jwksUrl }}true{{ end }}
{{- end }}

{{- define "tpgate.hasJwtFiles" -}}
{{- if or .Values.admin.jwtPublicKeys .Values.admin.jwksKey }}true{{ end }}
{{- end }}

{{/* publicBaseUrl, or https://<first ingress host>/ (http when the host has no TLS). */}}
{{- define "tpgate.publicBaseUrl" -}}
{{- if .Values.publicBaseUrl }}
{{- .Values.publicBaseUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := first .Values.ingress.hosts }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host (.hosts | default list) }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s/" (ternary "https" "http" $tls) $host }}
{{- end }}
{{- end }}

{{/* The same URL, always ending in "/". */}}
{{- define "tpgate.publicBaseUrlSlash" -}}
{{- $u := include "tpgate.publicBaseUrl" . }}
{{- if $u }}{{ trimSuffix "/" $u }}/{{ end }}
{{- end }}

{{- define "tpgate.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.shutdown.terminationGracePeriodSeconds }}
{{- add .Values.shutdown.preStopSleepSeconds .Values.shutdown.drainSeconds .Values.shutdown.marginSeconds }}
{{- else }}
{{- int .Values.shutdown.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
The secret-derived environment, as [name, logical key, required, file-capable] rows.
required: "yes" (a missing key stops the pod), "no" (optional secretKeyRef).
*/}}
{{- define "tpgate.secretRows" -}}
{{- $v := .Values }}
{{- $rows := list (list "TPGATE_DATABASE_URL" "databaseUrl" "yes" "yes") }}
{{- if $v.redis.enabled }}{{ $rows = append $rows (list "TPGATE_REDIS_URL" "redisUrl" "yes" "yes") }}{{ end }}
{{- $rows = append $rows (list "TPGATE_COMPONENT__SECRET" "componentSecret" "yes" "yes") }}
{{- $rows = append $rows (list "TPGATE_COMPONENT__TOKEN" "componentToken" "yes" "yes") }}
{{- $rows = append $rows (list "TPGATE_COMPONENT__ENCODING_AES_KEY" "encodingAesKey" "yes" "yes") }}
{{- $rows = append $rows (list "TPGATE_COMPONENT__PREVIOUS_ENCODING_AES_KEY" "previousEncodingAesKey" "no" "no") }}
{{- $rows = append $rows (list "TPGATE_SEALING_KEY" "sealingKey" "yes" "yes") }}
{{- $rows = append $rows (list "TPGATE_SEALING_PREVIOUS_KEYS" "sealingPreviousKeys" "no" "no") }}
{{- if include "tpgate.hasPublicKeys" . }}
{{- $rows = append $rows (list "TPGATE_ADMIN__JWT_SECRET" "adminJwtSecret" "no" "no") }}
{{- else }}
{{- $rows = append $rows (list "TPGATE_ADMIN__JWT_SECRET" "adminJwtSecret" "yes" "yes") }}
{{- end }}
{{- toJson $rows }}
{{- end }}

{{/* What `tpgate migrate` needs: the database URL and the sealing keys. */}}
{{- define "tpgate.migrationSecretRows" -}}
{{- toJson (list (list "TPGATE_DATABASE_URL" "databaseUrl" "yes" "yes") (list "TPGATE_SEALING_KEY" "sealingKey" "yes" "yes") (list "TPGATE_SEALING_PREVIOUS_KEYS" "sealingPreviousKeys" "no" "no")) }}
{{- end }}

{{/* env entries for secret rows; argument: (list $ rowsJson). */}}
{{- define "tpgate.secretEnv" -}}
{{- $root := index . 0 }}
{{- $files := eq $root.Values.secrets.delivery "files" }}
{{- range (index . 1 | fromJsonArray) }}
{{- $name := index . 0 }}{{ $key := index $root.Values.secrets.keys (index . 1) }}
{{- if and $files (eq (index . 3) "yes") }}
- name: {{ $name }}_FILE
  value: /etc/tpgate/secrets/{{ $key }}
{{- else }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "tpgate.secretName" $root }}
      key: {{ $key }}
      {{- if eq (index . 2) "no" }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The secret volume (files delivery): only the required keys, so optional ones may be absent. */}}
{{- define "tpgate.secretVolume" -}}
{{- $root := index . 0 }}
- name: secrets
  secret:
    secretName: {{ include "tpgate.secretName" $root }}
    defaultMode: 0440
    items:
      {{- range (index . 1 | fromJsonArray) }}
      {{- if eq (index . 3) "yes" }}
      {{- $key := index $root.Values.secrets.keys (index . 1) }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
      {{- end }}
{{- end }}

{{/* Checks of combinations the schema cannot express. Included by every template that renders. */}}
{{- define "tpgate.validate" -}}
{{- $v := .Values }}
{{- $max := int (include "tpgate.maxReplicas" .) }}
{{- $sqliteUrl := hasPrefix "sqlite:" ($v.database.url | default "") }}
{{- $where := ternary (printf "autoscaling.maxReplicas=%d" $max) (printf "replicaCount=%d" $max) $v.autoscaling.enabled }}
{{- if and (gt $max 1) (or (eq $v.database.type "sqlite") $sqliteUrl) }}
{{- fail (printf "\n\ntpgate: %s, but the database is SQLite (database.type=%s%s). A SQLite file cannot be shared between pods: use database.type=postgres with a Postgres URL, or run a single replica (replicaCount=1, autoscaling.enabled=false)." $where $v.database.type (ternary ", database.url starts with sqlite:" "" $sqliteUrl)) }}
{{- end }}
{{- if and (gt $max 1) (not $v.redis.enabled) }}
{{- fail (printf "\n\ntpgate: %s, but redis.enabled=false. Without Redis each replica rate-limits on its own in-process counters (limits multiply by the replica count) and cache invalidations (suspended tenants, revoked keys) only reach other replicas after proxy.cache_ttl_secs: set redis.enabled=true (with redis.url or the %q key in secrets.existingSecret), or run a single replica." $where $v.secrets.keys.redisUrl) }}
{{- end }}
{{- if and $sqliteUrl (ne $v.database.type "sqlite") }}
{{- fail "\n\ntpgate: database.url starts with sqlite: but database.type is postgres: set database.type=sqlite (single replica, persistence.enabled=true)." }}
{{- end }}
{{- if and $v.database.url (eq $v.database.type "sqlite") (not $sqliteUrl) }}
{{- fail "\n\ntpgate: database.type=sqlite but database.url does not start with sqlite:" }}
{{- end }}
{{- if and (eq $v.database.type "sqlite") (not $v.persistence.enabled) }}
{{- fail "\n\ntpgate: database.type=sqlite needs persistence.enabled=true: the root filesystem is read-only, and a database on an emptyDir would lose every authorization (sealed refresh tokens) at each restart." }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail (printf "\n\ntpgate: autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d)." (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- end }}
{{- if and $v.autoscaling.enabled (not (or $v.autoscaling.targetCPUUtilizationPercentage $v.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "\n\ntpgate: autoscaling.enabled needs targetCPUUtilizationPercentage and/or targetMemoryUtilizationPercentage." }}
{{- end }}
{{- if and $v.autoscaling.enabled $v.autoscaling.targetCPUUtilizationPercentage (not (dig "requests" "cpu" "" ($v.resources | default dict))) }}
{{- fail "\n\ntpgate: autoscaling on CPU needs resources.requests.cpu (utilisation is a percentage of it)." }}
{{- end }}
{{- if and $v.autoscaling.enabled $v.autoscaling.targetMemoryUtilizationPercentage (not (dig "requests" "memory" "" ($v.resources | default dict))) }}
{{- fail "\n\ntpgate: autoscaling on memory needs resources.requests.memory." }}
{{- end }}
{{- if $v.secrets.existingSecret }}
{{- $set := list }}
{{- range $k, $val := $v.secrets.values }}{{ if $val }}{{ $set = append $set (printf "secrets.values.%s" $k) }}{{ end }}{{ end }}
{{- if $v.database.url }}{{ $set = append $set "database.url" }}{{ end }}
{{- if $v.redis.url }}{{ $set = append $set "redis.url" }}{{ end }}
{{- if $set }}
{{- fail (printf "\n\ntpgate: secrets.existingSecret=%s, so %s would be ignored: put them in that Secret instead (keys: see secrets.keys), or leave existingSecret empty to have the chart create the Secret." $v.secrets.existingSecret (join ", " $set)) }}
{{- end }}
{{- else }}
{{- range $k := $v.admin.jwtPublicKeys }}
{{- if not (hasKey $v.secrets.values.files $k) }}
{{- fail (printf "\n\ntpgate: admin.jwtPublicKeys names %q, which is not in secrets.values.files (the chart-created Secret)." $k) }}
{{- end }}
{{- end }}
{{- if and $v.admin.jwksKey (not (hasKey $v.secrets.values.files $v.admin.jwksKey)) }}
{{- fail (printf "\n\ntpgate: admin.jwksKey is %q, which is not in secrets.values.files (the chart-created Secret)." $v.admin.jwksKey) }}
{{- end }}
{{- if and (not $v.redis.enabled) $v.redis.url }}
{{- fail "\n\ntpgate: redis.url is set but redis.enabled=false." }}
{{- end }}
{{- end }}
{{- range $k, $_ := $v.config.extraEnv }}
{{- if not (hasPrefix "TPGATE_" $k) }}
{{- fail (printf "\n\ntpgate: config.extraEnv.%s: tpgate only reads TPGATE_* variables." $k) }}
{{- end }}
{{- if hasSuffix "_FILE" (upper $k) }}
{{- fail (printf "\n\ntpgate: config.extraEnv.%s: the ConfigMap is for plain values; see secrets.delivery for files." $k) }}
{{- end }}
{{- end }}
{{- if eq (int $v.containerPort) (int $v.opsPort) }}
{{- fail (printf "\n\ntpgate: containerPort and opsPort are both %d: the public and the ops listener need different ports." (int $v.opsPort)) }}
{{- end }}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) }}
{{- fail "\n\ntpgate: set only one of podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable (null the other)." }}
{{- end }}
{{- end }}

{{/*
Required settings missing from a chart-created install, for NOTES.txt. They do not stop rendering
(`helm lint` and `helm template` work with the default values); tpgate refuses to start and
names the setting.
*/}}
{{- define "tpgate.missing" -}}
{{- $v := .Values }}
{{- $m := list }}
{{- if not (include "tpgate.publicBaseUrl" .) }}{{ $m = append $m "publicBaseUrl (or ingress.hosts)" }}{{ end }}
{{- if not $v.component.appid }}{{ $m = append $m "component.appid" }}{{ end }}
{{- if not $v.secrets.existingSecret }}
{{- if not (include "tpgate.databaseUrl" .) }}{{ $m = append $m "database.url" }}{{ end }}
{{- if and $v.redis.enabled (not $v.redis.url) }}{{ $m = append $m "redis.url" }}{{ end }}
{{- range $k := list "componentSecret" "componentToken" "encodingAesKey" "sealingKey" }}
{{- if not (index $v.secrets.values $k) }}{{ $m = append $m (printf "secrets.values.%s" $k) }}{{ end }}
{{- end }}
{{- if and (not (include "tpgate.hasPublicKeys" $)) (not $v.secrets.values.adminJwtSecret) }}{{ $m = append $m "secrets.values.adminJwtSecret (or admin public keys)" }}{{ end }}
{{- end }}
{{- join "\n" $m }}
{{- end }}

{{/*
A values scalar as an environment string (YAML numbers arrive as float64: 30, not 3e+01); a list as
tpgate's bracketed list, "[80, 443, 1024-65535]" (items must not hold commas or brackets: the schema
keeps them out).
*/}}
{{- define "tpgate.envValue" -}}
{{- if kindIs "slice" . }}
{{- $items := list }}
{{- range . }}{{ $items = append $items (include "tpgate.envScalar" .) }}{{ end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else }}
{{- include "tpgate.envScalar" . }}
{{- end }}
{{- end }}

{{- define "tpgate.envScalar" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/* NetworkPolicy egress rules shared by the serving and migration pods. */}}
{{- define "tpgate.egressRules" -}}
{{- $n := .Values.networkPolicy }}
- to:
    {{- toYaml $n.egress.dnsTo | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- if $n.egress.allowHttpsAnywhere }}
# WeChat's APIs (api.weixin.qq.com, …) and a JWKS URL: no fixed addresses.
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
    - ipBlock:
        cidr: ::/0
  ports:
    - port: 443
      protocol: TCP
{{- end }}
{{- with $n.egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
