/** PWA entry: defines the elements; index.html holds the <mesh-app> root. */
import './ui/mesh-app.ts';
