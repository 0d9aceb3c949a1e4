package blueprint

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// builtinFS holds the built-in blueprint (builtin/base) and the
// PodDisruptionBudget component added to it for teams with more than one
// replica (builtin/pdb).
//
//go:embed builtin
var builtinFS embed.FS

// copyBuiltin writes the embedded built-in blueprint to fSys.
func copyBuiltin(fSys filesys.FileSystem) error {
	dirs := map[string]string{"builtin/base": blueprintDir, "builtin/pdb": pdbDir}
	for from, to := range dirs {
		entries, err := builtinFS.ReadDir(from)
		if err != nil {
			return fmt.Errorf("read built-in blueprint %s: %w", from, err)
		}
		for _, e := range entries {
			content, err := fs.ReadFile(builtinFS, path.Join(from, e.Name()))
			if err != nil {
				return fmt.Errorf("read built-in blueprint file %s: %w", e.Name(), err)
			}
			if err := fSys.WriteFile(path.Join("/", to, e.Name()), content); err != nil {
				return fmt.Errorf("write built-in blueprint file %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// writeCustom writes a custom blueprint's files to fSys after checking that
// it is self-contained.
//
// The files come from a ConfigMap, whose keys cannot contain "/", so a
// blueprint is one flat directory. That makes the rule simple: everything a
// kustomization refers to must be one of its own files. It matters for
// safety, not only tidiness: kustomize fetches http(s) URLs and clones git
// repositories named in a kustomization, and a blueprint author must not be
// able to make the operator reach out to the network (or to read this
// process's other inputs) on their behalf.
func writeCustom(fSys filesys.FileSystem, files map[string]string) error {
	if err := checkSelfContained(files); err != nil {
		return &InvalidError{Err: err}
	}
	for name, content := range files {
		if err := fSys.WriteFile(path.Join("/", blueprintDir, name), []byte(content)); err != nil {
			return fmt.Errorf("write blueprint file %s: %w", name, err)
		}
	}
	return nil
}

// checkSelfContained returns an error naming the first file name or
// reference that breaks the flat, self-contained layout of a blueprint.
func checkSelfContained(files map[string]string) error {
	for _, name := range sortedKeys(files) {
		if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
			return fmt.Errorf("file name %q: %s", name, strings.Join(errs, "; "))
		}
	}
	kustFile, err := kustomizationFile(files)
	if err != nil {
		return err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal([]byte(files[kustFile]), &k); err != nil {
		return fmt.Errorf("parse %s: %w", kustFile, err)
	}
	k.FixKustomization()
	for _, ref := range references(&k) {
		local := strings.TrimPrefix(ref, "./")
		if _, ok := files[local]; !ok {
			return fmt.Errorf("%s refers to %q, which is not one of the blueprint's files "+
				"(a blueprint is one flat set of files: no directories, URLs or git repositories)", kustFile, ref)
		}
	}
	return nil
}

// kustomizationFile returns which of the names kustomize recognises the
// blueprint uses.
func kustomizationFile(files map[string]string) (string, error) {
	var found []string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, ok := files[name]; ok {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no kustomization.yaml among the blueprint's files %v", sortedKeys(files))
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("more than one kustomization file: %v", found)
	}
}

// references lists every file, directory or URL a kustomization loads.
// Inline patches and inline generator or transformer configurations span
// several lines and are not references.
func references(k *types.Kustomization) []string {
	var refs []string
	add := func(items ...string) {
		for _, s := range items {
			if s != "" && !strings.Contains(s, "\n") {
				refs = append(refs, s)
			}
		}
	}
	add(k.Resources...)
	add(k.Components...)
	add(k.Crds...)
	add(k.Configurations...)
	add(k.Generators...)
	add(k.Transformers...)
	add(k.Validators...)
	add(k.OpenAPI["path"])
	// A custom blueprint may still use the deprecated patch fields, which
	// kustomize goes on reading: their files must be checked all the same.
	for _, p := range k.PatchesStrategicMerge { //nolint:staticcheck // checked on purpose, see above
		add(string(p))
	}
	for _, p := range append(k.Patches, k.PatchesJson6902...) { //nolint:staticcheck // checked on purpose, see above
		add(p.Path)
	}
	for _, r := range k.Replacements {
		add(r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		add(sourcePaths(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		add(sourcePaths(g.KvPairSources)...)
	}
	return refs
}

// sourcePaths returns the files a generator reads; a file source may be
// written "key=path".
func sourcePaths(s types.KvPairSources) []string {
	paths := append([]string(nil), s.EnvSources...)
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		paths = append(paths, f)
	}
	return paths
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
