{{/* Names, labels and the pieces every workload shares. */}}

{{- define "mec5g.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mec5g.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mec5g.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "mec5g.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mec5g
{{- end -}}

{{/* Selector labels of one component: include with (dict "root" $ "component" "ttp"). */}}
{{- define "mec5g.selector" -}}
app.kubernetes.io/name: {{ include "mec5g.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mec5g.componentLabels" -}}
{{ include "mec5g.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mec5g.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Object names. */}}
{{- define "mec5g.ttp" -}}{{ include "mec5g.fullname" . }}-ttp{{- end -}}
{{- define "mec5g.mec" -}}{{ include "mec5g.fullname" . }}-mec{{- end -}}
{{- define "mec5g.ue" -}}{{ include "mec5g.fullname" . }}-ue{{- end -}}
{{- define "mec5g.enrol" -}}{{ include "mec5g.fullname" . }}-enrol{{- end -}}
{{- define "mec5g.ueEnrolmentSecret" -}}{{ include "mec5g.fullname" . }}-ue-enrolment{{- end -}}
{{- define "mec5g.mecEnrolmentSecret" -}}{{ include "mec5g.fullname" . }}-mec-enrolment{{- end -}}
{{- define "mec5g.storeSecret" -}}
{{- .Values.ttp.store.postgresql.existingSecret | default (printf "%s-store" (include "mec5g.ttp" .)) -}}
{{- end -}}
{{- define "mec5g.masterKeySecret" -}}
{{- .Values.ttp.masterKey.existingSecret | default (printf "%s-master-key" (include "mec5g.ttp" .)) -}}
{{- end -}}
{{- define "mec5g.masterKeyEnabled" -}}
{{- if or .Values.ttp.masterKey.value .Values.ttp.masterKey.existingSecret }}true{{ end -}}
{{- end -}}

{{/* The TTP's store and master key as the TTP and the enrolment Jobs both receive them. */}}
{{- define "mec5g.storeEnv" -}}
{{- if eq .Values.ttp.store.type "sqlite" -}}
- name: MEC5G_STORE
  value: /var/lib/mec5g/ttp.db
{{- else -}}
- name: MEC5G_STORE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mec5g.storeSecret" . }}
      key: {{ .Values.ttp.store.postgresql.existingSecretKey }}
{{- end }}
{{- if include "mec5g.masterKeyEnabled" . }}
- name: MEC5G_MASTER_KEY_FILE
  value: /etc/mec5g/master-key/master.key
{{- end }}
{{- end -}}

{{/* The master key's volume and its mount, both empty without a master key. */}}
{{- define "mec5g.masterKeyVolume" -}}
{{- if include "mec5g.masterKeyEnabled" . -}}
- name: master-key
  secret:
    secretName: {{ include "mec5g.masterKeySecret" . }}
    defaultMode: 0440
    items:
      - key: {{ .Values.ttp.masterKey.existingSecretKey }}
        path: master.key
{{- end -}}
{{- end -}}
{{- define "mec5g.masterKeyMount" -}}
{{- if include "mec5g.masterKeyEnabled" . -}}
- name: master-key
  mountPath: /etc/mec5g/master-key
  readOnly: true
{{- end -}}
{{- end -}}

{{/*
The MEC's target for the TTP: the Service of the one SQLite TTP, or with PostgreSQL the headless
Service, whose name resolves to every TTP pod, so that the MEC balances its calls over them.
*/}}
{{- define "mec5g.ttpTarget" -}}
{{- if eq .Values.ttp.store.type "sqlite" -}}
{{ include "mec5g.ttp" . }}:{{ .Values.ttp.port }}
{{- else -}}
dns:///{{ include "mec5g.ttp" . }}-headless:{{ .Values.ttp.port }}
{{- end -}}
{{- end -}}
{{- define "mec5g.ttpTlsSecret" -}}
{{- .Values.mtls.ttp.existingSecret | default (printf "%s-tls" (include "mec5g.ttp" .)) -}}
{{- end -}}
{{- define "mec5g.mecTlsSecret" -}}
{{- .Values.mtls.mec.existingSecret | default (printf "%s-tls" (include "mec5g.mec" .)) -}}
{{- end -}}
{{/* The StatefulSet's claim for TTP pod 0; the enrolment hook creates it first. */}}
{{- define "mec5g.ttpClaim" -}}data-{{ include "mec5g.ttp" . }}-0{{- end -}}

{{/* The TTP's key-store claim, shared by the StatefulSet template and the hook that creates it. */}}
{{- define "mec5g.ttpClaimSpec" -}}
accessModes: [ReadWriteOnce]
{{- with .Values.ttp.store.sqlite.storageClassName }}
storageClassName: {{ . }}
{{- end }}
resources:
  requests:
    storage: {{ .Values.ttp.store.sqlite.size }}
{{- end -}}

{{- define "mec5g.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "mec5g.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end -}}

{{/* Native gRPC probes on grpc.health.v1: (dict "root" $ "port" N "service" NAME). */}}
{{- define "mec5g.probes" -}}
{{- $p := .root.Values.probes -}}
startupProbe:
  grpc: {port: {{ .port }}, service: {{ .service }}}
  periodSeconds: {{ $p.startup.periodSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  grpc: {port: {{ .port }}}
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  grpc: {port: {{ .port }}, service: {{ .service }}}
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end -}}

{{/* Writable scratch space: the root filesystem is read-only. */}}
{{- define "mec5g.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end -}}
