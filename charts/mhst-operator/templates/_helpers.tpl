{{/*
fullname names the release's own objects: the release name when it already
says mhst-operator (helm install mhst-operator ...), else
<release>-mhst-operator.
*/}}
{{- define "mhst-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* selectorLabels never change after install: a Deployment's selector is immutable. */}}
{{- define "mhst-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mhst-operator.labels" -}}
{{ include "mhst-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
operatorUser is the user name the API server gives the operator's
ServiceAccount; the admission policies exempt exactly this user.
*/}}
{{- define "mhst-operator.operatorUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "mhst-operator.fullname" . }}
{{- end -}}

{{- define "mhst-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
celList renders a list of strings as a CEL list literal: ['a', 'b']. The
values schema keeps quotes and backslashes out of its items.
*/}}
{{- define "mhst-operator.celList" -}}
[{{- range $i, $v := . }}{{ if $i }}, {{ end }}'{{ $v }}'{{- end }}]
{{- end -}}

{{/*
metricsCertDir is where the metrics certificate Secret is mounted: under
/tmp, like controller-runtime's own default, since the root filesystem is
read-only.
*/}}
{{- define "mhst-operator.metricsCertDir" -}}
/tmp/k8s-metrics-server/metrics-certs
{{- end -}}
