{{/* The release's name prefix: the release name, with "-ates" unless it already says ates. */}}
{{- define "ates.fullname" -}}
{{- if contains "ates" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-ates" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes name of service `name` (auth, tracker, ...): <fullname>-<name>. */}}
{{- define "ates.serviceName" -}}
{{- printf "%s-%s" (include "ates.fullname" .root) .name -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "ates.labels" -}}
app.kubernetes.io/part-of: ates
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The labels that select service `name`'s pods. */}}
{{- define "ates.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .name }}-svc
{{- end -}}

{{/* The browser origins allowed to call gRPC-web services directly. */}}
{{- define "ates.webAllowedOrigins" -}}
{{- if .Values.config.webAllowedOrigins -}}
{{- join "," .Values.config.webAllowedOrigins -}}
{{- else if and .Values.ingress.enabled .Values.ingress.host -}}
{{- printf "https://%s" .Values.ingress.host -}}
{{- else -}}
{{- fail "config.webAllowedOrigins: set the browser origins, or enable the ingress with a host" -}}
{{- end -}}
{{- end -}}

{{/* The settings of service `name` (dict root, name, svc): everything but secrets. */}}
{{- define "ates.config" -}}
{{- $root := .root -}}
{{- $auth := $root.Values.services.auth -}}
ATES_PROFILE: production
GRPC_LISTEN_ADDR: {{ printf "0.0.0.0:%v" .svc.port | quote }}
AUTH_URL: {{ printf "http://%s:%v" (include "ates.serviceName" (dict "root" $root "name" "auth")) $auth.port | quote }}
TOKEN_ISSUER: {{ $root.Values.config.tokenIssuer | quote }}
TOKEN_AUDIENCE: {{ $root.Values.config.tokenAudience | quote }}
TOKEN_LEEWAY_SECONDS: {{ $root.Values.config.tokenLeewaySeconds | quote }}
SHUTDOWN_GRACE_SECONDS: {{ $root.Values.config.shutdownGraceSeconds | quote }}
INBOX_RETENTION_DAYS: {{ $root.Values.config.inboxRetentionDays | quote }}
BUSINESS_TIME_ZONE: {{ $root.Values.config.businessTimeZone | quote }}
AMQP_NAME_PREFIX: {{ $root.Values.config.amqpNamePrefix | quote }}
RUST_LOG: {{ $root.Values.config.rustLog | quote }}
LOG_FORMAT: {{ $root.Values.config.logFormat | quote }}
{{- with $root.Values.config.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- if and (eq $root.Values.config.metricsExporter "otlp") (not $root.Values.config.otlpEndpoint) }}
{{- fail "config.metricsExporter otlp pushes metrics to config.otlpEndpoint: set it, or choose prometheus or none" }}
{{- end }}
METRICS_EXPORTER: {{ $root.Values.config.metricsExporter | quote }}
{{- if eq $root.Values.config.metricsExporter "prometheus" }}
METRICS_LISTEN_ADDR: {{ printf "0.0.0.0:%v" $root.Values.config.metricsPort | quote }}
{{- end }}
{{- /* Every service gets it: a service taking gRPC-web calls will not start without it in
production, and the others ignore it. */}}
WEB_ALLOWED_ORIGINS: {{ include "ates.webAllowedOrigins" $root | quote }}
{{- /* Each service it calls, at `<NAME>_URL` (the BFF's ACCOUNTING_URL). */}}
{{- range $callee := .svc.calls }}
{{ upper $callee }}_URL: {{ printf "http://%s:%v" (include "ates.serviceName" (dict "root" $root "name" $callee)) (index $root.Values.services $callee).port | quote }}
{{- end }}
{{- range $key, $value := .svc.env }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end -}}
